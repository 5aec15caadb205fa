import { randomUUID } from 'node:crypto';
import { createWallet, deposit } from '../factories/wallets.factory';
import { expectBooksBalanced } from '../setup/books';
import { ADMIN_USER_ID, startTestApp, TestApp } from '../setup/test-app';

describe('wallets (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('creates one wallet per user: 201 first, then 200 with the same wallet', async () => {
    const userId = randomUUID();
    const first = await t.api.post('/wallets', { userId });
    const second = await t.api.post('/wallets', { userId });
    expect(first.status).toBe(201);
    expect(second.status).toBe(200);
    expect(second.body.id).toBe(first.body.id);
    expect(first.body).toEqual({
      id: expect.any(String),
      userId,
      balance: 0,
      fractionalBalance: 0,
      debt: 0,
      heldBalance: 0,
      createdAt: expect.stringMatching(/Z$/),
      updatedAt: expect.stringMatching(/Z$/),
    });
  });

  it('reads a wallet for its owner and an admin, 404 for anyone else', async () => {
    const wallet = await createWallet(t.api, 500);
    expect((await t.api.get(`/wallets/${wallet.id}`, { userId: wallet.userId })).body.balance).toBe(500);
    expect((await t.api.get(`/wallets/${wallet.id}`, { userId: ADMIN_USER_ID })).status).toBe(200);
    const stranger = await t.api.get(`/wallets/${wallet.id}`, { userId: randomUUID() });
    expect(stranger.status).toBe(404);
    expect((await t.api.get(`/wallets/${randomUUID()}`, { userId: wallet.userId })).status).toBe(404);
  });

  it('10 concurrent deposits of 100 all succeed with balances 100..1000, each seen once', async () => {
    const wallet = await createWallet(t.api);
    const responses = await Promise.all(
      Array.from({ length: 10 }, () =>
        t.api.post(`/wallets/${wallet.id}/deposit`, { userId: wallet.userId, body: { amount: 100 } }),
      ),
    );
    expect(responses.map((r) => r.status)).toEqual(Array(10).fill(201));
    const balances = responses.map((r) => r.body.balance as number).sort((a, b) => a - b);
    expect(balances).toEqual([100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
  });

  it("deposit into an unknown or someone else's wallet is 404 and moves nothing", async () => {
    const owner = await createWallet(t.api, 1000);
    const other = await createWallet(t.api);
    const before = await t.db.sql`SELECT count(*)::int AS n FROM ledger_entries`;
    const foreign = await t.api.post(`/wallets/${owner.id}/deposit`, { userId: other.userId, body: { amount: 100 } });
    const unknown = await t.api.post(`/wallets/${randomUUID()}/deposit`, { userId: other.userId, body: { amount: 100 } });
    expect(foreign.status).toBe(404);
    expect(unknown.status).toBe(404);
    expect(foreign.body.code).toBe('WALLET_NOT_FOUND');
    const after = await t.db.sql`SELECT count(*)::int AS n FROM ledger_entries`;
    expect(after[0]!.n).toBe(before[0]!.n);
    expect((await t.api.get(`/wallets/${owner.id}`, { userId: owner.userId })).body.balance).toBe(1000);
  });

  it.each([
    [{ amount: 0 }, 'amount'],
    [{ amount: -5 }, 'amount'],
    [{ amount: 1.5 }, 'amount'],
    [{ amount: '100' }, 'amount'],
    [{ amount: 1_000_000_001 }, 'amount'],
    [{ amount: Number.MAX_SAFE_INTEGER + 2 }, 'amount'],
    [{}, 'amount'],
    [{ amount: 100, extra: true }, 'extra'],
  ])('rejects deposit body %j with a 400 naming %s and changes nothing', async (body, field) => {
    const wallet = await createWallet(t.api);
    const response = await t.api.post(`/wallets/${wallet.id}/deposit`, { userId: wallet.userId, body });
    expect(response.status).toBe(400);
    expect(response.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    expect((await t.api.get(`/wallets/${wallet.id}`, { userId: wallet.userId })).body.balance).toBe(0);
  });

  it('parallel withdrawals exceeding the balance: exactly the affordable ones succeed', async () => {
    const wallet = await createWallet(t.api, 1000);
    const responses = await Promise.all(
      Array.from({ length: 8 }, () =>
        t.api.post(`/wallets/${wallet.id}/withdrawals`, {
          userId: wallet.userId,
          idempotencyKey: randomUUID(),
          body: { amount: 300 },
        }),
      ),
    );
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 201, 201, 402, 402, 402, 402, 402]);
    expect((await t.api.get(`/wallets/${wallet.id}`, { userId: wallet.userId })).body.balance).toBe(100);
    const created = responses.find((r) => r.status === 201)!;
    // The v1 fields, and the payout's lifecycle (ADR 0018): pending until the rail settles or fails it.
    expect(created.body).toEqual({
      id: expect.any(String),
      walletId: wallet.id,
      amount: 300,
      status: 'pending',
      destination: null,
      failureReason: null,
      createdAt: expect.any(String),
      resolvedAt: null,
    });
  });

  it('withdrawals require an Idempotency-Key and replay a completed one', async () => {
    const wallet = await createWallet(t.api, 1000);
    const path = `/wallets/${wallet.id}/withdrawals`;
    const missing = await t.api.post(path, { userId: wallet.userId, body: { amount: 100 } });
    expect(missing.status).toBe(400);
    expect(missing.body.errors[0].field).toBe('Idempotency-Key');
    const malformed = await t.api.post(path, { userId: wallet.userId, idempotencyKey: 'bad key!', body: { amount: 100 } });
    expect(malformed.status).toBe(400);

    const key = randomUUID();
    const first = await t.api.post(path, { userId: wallet.userId, idempotencyKey: key, body: { amount: 100 } });
    const replay = await t.api.post(path, { userId: wallet.userId, idempotencyKey: key, body: { amount: 100 } });
    const conflict = await t.api.post(path, { userId: wallet.userId, idempotencyKey: key, body: { amount: 200 } });
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBeNull();
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(first.body);
    expect(conflict.status).toBe(422);
    expect((await t.api.get(`/wallets/${wallet.id}`, { userId: wallet.userId })).body.balance).toBe(900);
  });

  it('a failed withdrawal leaves its key free for a retry after topping up', async () => {
    const wallet = await createWallet(t.api, 100);
    const key = randomUUID();
    const path = `/wallets/${wallet.id}/withdrawals`;
    expect((await t.api.post(path, { userId: wallet.userId, idempotencyKey: key, body: { amount: 500 } })).status).toBe(402);
    await deposit(t.api, wallet, 400);
    const retry = await t.api.post(path, { userId: wallet.userId, idempotencyKey: key, body: { amount: 500 } });
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
  });

  it('keyed deposits are idempotent; a malformed key is a 400', async () => {
    const wallet = await createWallet(t.api);
    const key = randomUUID();
    const path = `/wallets/${wallet.id}/deposit`;
    const [a, b] = await Promise.all([
      t.api.post(path, { userId: wallet.userId, idempotencyKey: key, body: { amount: 250 } }),
      t.api.post(path, { userId: wallet.userId, idempotencyKey: key, body: { amount: 250 } }),
    ]);
    expect([a.status, b.status].sort()).toEqual(a.status === 409 || b.status === 409 ? [201, 409] : [201, 201]);
    const replay = await t.api.post(path, { userId: wallet.userId, idempotencyKey: key, body: { amount: 250 } });
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body.balance).toBe(250);
    expect((await t.api.get(`/wallets/${wallet.id}`, { userId: wallet.userId })).body.balance).toBe(250);
    const malformed = await t.api.post(path, { userId: wallet.userId, headers: { 'idempotency-key': 'x'.repeat(256) }, body: { amount: 1 } });
    expect(malformed.status).toBe(400);
  });

  it('pages through the ledger newest first, every entry exactly once, with writes between pages', async () => {
    const wallet = await createWallet(t.api);
    for (let i = 1; i <= 7; i++) await deposit(t.api, wallet, i);
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const query: string = cursor ? `?limit=3&cursor=${cursor}` : '?limit=3';
      const page = await t.api.get(`/wallets/${wallet.id}/ledger${query}`, { userId: wallet.userId });
      expect(page.status).toBe(200);
      seen.push(...page.body.items.map((item: { amount: number }) => item.amount));
      if (pages === 0) await deposit(t.api, wallet, 100); // lands on a page already read
      cursor = page.body.nextCursor;
      pages++;
    } while (cursor);
    expect(seen).toEqual([7, 6, 5, 4, 3, 2, 1]);
    expect(pages).toBe(3);
    const fresh = await t.api.get(`/wallets/${wallet.id}/ledger?limit=1`, { userId: wallet.userId });
    expect(fresh.body.items[0]).toMatchObject({ type: 'deposit', amount: 100 });
    const bad = await t.api.get(`/wallets/${wallet.id}/ledger?cursor=bm9wZQ`, { userId: wallet.userId });
    expect(bad.status).toBe(400);
    expect((await t.api.get(`/wallets/${wallet.id}/ledger?limit=201`, { userId: wallet.userId })).status).toBe(400);
  });

  it('refuses UPDATE and DELETE of ledger entries in the database itself', async () => {
    await createWallet(t.api, 100);
    await expect(t.db.sql`UPDATE ledger_entries SET amount = amount + 1`).rejects.toThrow(/append-only/);
    await expect(t.db.sql`DELETE FROM ledger_entries`).rejects.toThrow(/append-only/);
    await expect(t.db.sql`UPDATE ledger_transactions SET type = 'deposit'`).rejects.toThrow(/append-only/);
  });

  it('after a randomized workload the books balance to the cent', async () => {
    const wallets = await Promise.all(Array.from({ length: 6 }, () => createWallet(t.api, 5_000)));
    const operations = Array.from({ length: 120 }, (_, i) => {
      const wallet = wallets[i % wallets.length]!;
      const amount = 1 + ((i * 7919) % 2_000);
      return i % 3 === 0
        ? t.api.post(`/wallets/${wallet.id}/withdrawals`, { userId: wallet.userId, idempotencyKey: randomUUID(), body: { amount } })
        : t.api.post(`/wallets/${wallet.id}/deposit`, { userId: wallet.userId, body: { amount } });
    });
    const statuses = (await Promise.all(operations)).map((r) => r.status);
    expect(statuses.every((status) => status === 201 || status === 402)).toBe(true);
    await expectBooksBalanced(t.db.sql);
  });
});
