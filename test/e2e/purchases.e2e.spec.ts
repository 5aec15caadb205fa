import fc from 'fast-check';
import '../setup/seeded';
import { randomUUID } from 'node:crypto';
import { createWallet, deposit, purchase, TestWallet } from '../factories/wallets.factory';
import { expectBooksBalanced } from '../setup/books';
import { REDIS_CACHE } from '../../src/redis/redis.module';
import { PrivateRedis } from '../setup/private-redis';
import { ADMIN_USER_ID, PLATFORM_USER_ID, startTestApp, TestApp } from '../setup/test-app';

async function balanceOf(t: TestApp, wallet: TestWallet): Promise<{ balance: number; fractionalBalance: number }> {
  const response = await t.api.get(`/wallets/${wallet.id}`, { userId: wallet.userId });
  return { balance: response.body.balance, fractionalBalance: response.body.fractionalBalance };
}

async function platformBalance(t: TestApp): Promise<number> {
  const created = await t.api.post('/wallets', { userId: PLATFORM_USER_ID });
  return created.body.balance;
}

async function purchaseCount(t: TestApp): Promise<number> {
  const [row] = await t.db.sql`SELECT count(*)::int AS n FROM purchases`;
  return row!.n;
}

describe('purchases (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('returns the contract body and pays 70/30', async () => {
    const buyer = await createWallet(t.api, 10_000);
    const author = await createWallet(t.api);
    const key = randomUUID();
    const response = await purchase(t.api, buyer, author, 1999, key);
    expect(response.status).toBe(201);
    expect(response.body).toEqual({
      id: expect.any(String),
      idempotencyKey: key,
      buyerWalletId: buyer.id,
      authorWalletId: author.id,
      itemPrice: 1999,
      authorAmount: 1399,
      platformAmount: 600,
      status: 'completed',
      refundedAmount: 0,
      refunds: [],
      itemId: null,
      metadata: null,
      royaltyTermsVersion: null,
      payees: [{ walletId: author.id, amount: 1399 }],
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
    });
    expect(await balanceOf(t, buyer)).toEqual({ balance: 8001, fractionalBalance: 0 });
    expect(await balanceOf(t, author)).toEqual({ balance: 1399, fractionalBalance: 30 });
  });

  it('10 parallel purchases of 2000 from 10000 give exactly five 201 and five 402', async () => {
    const buyer = await createWallet(t.api, 10_000);
    const author = await createWallet(t.api);
    const responses = await Promise.all(Array.from({ length: 10 }, () => purchase(t.api, buyer, author, 2000)));
    const statuses = responses.map((r) => r.status).sort();
    expect(statuses).toEqual([201, 201, 201, 201, 201, 402, 402, 402, 402, 402]);
    expect(responses.find((r) => r.status === 402)!.body.code).toBe('INSUFFICIENT_FUNDS');
    expect((await balanceOf(t, buyer)).balance).toBe(0);
    expect((await balanceOf(t, author)).balance).toBe(5 * 1400);
  });

  it('5 parallel purchases with one key make one purchase: buyer charged once, author +700, platform +300', async () => {
    const buyer = await createWallet(t.api, 5_000);
    const author = await createWallet(t.api);
    const platformBefore = await platformBalance(t);
    const purchasesBefore = await purchaseCount(t);
    const key = randomUUID();
    const responses = await Promise.all(Array.from({ length: 5 }, () => purchase(t.api, buyer, author, 1000, key)));
    for (const response of responses) {
      expect([201, 409]).toContain(response.status);
      if (response.status === 409) {
        expect(response.headers.get('retry-after')).toBe('1');
        expect(response.body.code).toBe('IDEMPOTENCY_KEY_IN_FLIGHT');
      }
    }
    const created = responses.filter((r) => r.status === 201);
    expect(created.length).toBeGreaterThanOrEqual(1);
    expect(new Set(created.map((r) => r.body.id)).size).toBe(1);
    expect(await purchaseCount(t)).toBe(purchasesBefore + 1);
    expect((await balanceOf(t, buyer)).balance).toBe(4_000);
    expect((await balanceOf(t, author)).balance).toBe(700);
    expect(await platformBalance(t)).toBe(platformBefore + 300);

    const replay = await purchase(t.api, buyer, author, 1000, key);
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(created[0]!.body);
    const differentPayload = await purchase(t.api, buyer, author, 1001, key);
    expect(differentPayload.status).toBe(422);
    expect((await balanceOf(t, buyer)).balance).toBe(4_000);
  });

  it('four 99-cent purchases leave the author at 277 with carry 20 and give the platform 30, 30, 30, 29', async () => {
    const buyer = await createWallet(t.api, 1_000);
    const author = await createWallet(t.api);
    const platformAmounts: number[] = [];
    for (let i = 0; i < 4; i++) {
      const response = await purchase(t.api, buyer, author, 99);
      expect(response.status).toBe(201);
      platformAmounts.push(response.body.platformAmount);
    }
    expect(platformAmounts).toEqual([30, 30, 30, 29]);
    expect(await balanceOf(t, author)).toEqual({ balance: 277, fractionalBalance: 20 });
  });

  it.each([
    ['self-purchase', 400, 'SELF_PURCHASE'],
    ['unknown author wallet', 400, 'AUTHOR_WALLET_NOT_FOUND'],
    ["buyer wallet that is not the caller's", 404, 'WALLET_NOT_FOUND'],
    ['unknown buyer wallet', 404, 'WALLET_NOT_FOUND'],
  ])('%s → %i %s, nothing moves, the key stays free', async (scenario, status, code) => {
    const buyer = await createWallet(t.api, 1_000);
    const author = await createWallet(t.api);
    const bodies: Record<string, { userId: string; body: object }> = {
      'self-purchase': { userId: buyer.userId, body: { buyerWalletId: buyer.id, authorWalletId: buyer.id, itemPrice: 100 } },
      'unknown author wallet': {
        userId: buyer.userId,
        body: { buyerWalletId: buyer.id, authorWalletId: randomUUID(), itemPrice: 100 },
      },
      "buyer wallet that is not the caller's": {
        userId: author.userId,
        body: { buyerWalletId: buyer.id, authorWalletId: author.id, itemPrice: 100 },
      },
      'unknown buyer wallet': {
        userId: buyer.userId,
        body: { buyerWalletId: randomUUID(), authorWalletId: author.id, itemPrice: 100 },
      },
    };
    const key = randomUUID();
    const before = await purchaseCount(t);
    const response = await t.api.post('/purchases', { ...bodies[scenario]!, idempotencyKey: key });
    expect(response.status).toBe(status);
    expect(response.body.code).toBe(code);
    expect(await purchaseCount(t)).toBe(before);
    expect((await balanceOf(t, buyer)).balance).toBe(1_000);
    // The failed attempt left the key free: a corrected request with it succeeds.
    const corrected = await purchase(t.api, buyer, author, 100, key);
    if (bodies[scenario]!.userId === buyer.userId) expect(corrected.status).toBe(201);
  });

  it('a purchase refused for funds can be retried with the same key after topping up', async () => {
    const buyer = await createWallet(t.api, 100);
    const author = await createWallet(t.api);
    const key = randomUUID();
    expect((await purchase(t.api, buyer, author, 500, key)).status).toBe(402);
    await deposit(t.api, buyer, 400);
    const retry = await purchase(t.api, buyer, author, 500, key);
    expect(retry.status).toBe(201);
    expect(retry.headers.get('idempotent-replayed')).toBeNull();
  });

  it('answers a key replayed again from process memory: same 201, no Redis round trip, another body still 422', async () => {
    const buyer = await createWallet(t.api, 10_000);
    const author = await createWallet(t.api);
    const key = randomUUID();
    const first = await purchase(t.api, buyer, author, 1_000, key);
    expect(first.status).toBe(201);
    // The claim goes with the rate limit (limitAndClaim, ADR 0069), or alone when no limit is set.
    const claims = jest.spyOn(t.app.get(REDIS_CACHE), 'idempotencyClaim' as never);
    const limitAndClaims = jest.spyOn(t.app.get(REDIS_CACHE), 'limitAndClaim' as never);
    // Requests that asked Redis, told apart by their claim token (the client's auto-pipelining
    // calls the command function a second time with the same arguments).
    const redisAsked = () =>
      new Set([
        ...claims.mock.calls.map((call: unknown[]) => call[2]),
        ...limitAndClaims.mock.calls.map((call: unknown[]) => call[call.length - 2]),
      ]).size;
    try {
      const fromRedis = await purchase(t.api, buyer, author, 1_000, key);
      expect(redisAsked()).toBe(1);
      const fromMemory = await purchase(t.api, buyer, author, 1_000, key);
      expect(redisAsked()).toBe(1);
      for (const replay of [fromRedis, fromMemory]) {
        expect(replay.status).toBe(201);
        expect(replay.headers.get('idempotent-replayed')).toBe('true');
        expect(replay.body).toEqual(first.body);
      }
      const reused = await purchase(t.api, buyer, author, 999, key);
      expect(reused.status).toBe(422);
      expect(redisAsked()).toBe(1);
      // Another caller's identical key is a different key.
      const other = await createWallet(t.api, 10_000);
      expect((await purchase(t.api, other, author, 1_000, key)).headers.get('idempotent-replayed')).toBeNull();
    } finally {
      claims.mockRestore();
      limitAndClaims.mockRestore();
    }
    expect((await balanceOf(t, buyer)).balance).toBe(9_000);
    await expectBooksBalanced(t.db.sql);
  });

  it.each([
    [{}, 'Idempotency-Key', { body: { buyerWalletId: randomUUID(), authorWalletId: randomUUID(), itemPrice: 1 } }],
    [{ 'idempotency-key': 'has space' }, 'Idempotency-Key', {}],
    [{ 'idempotency-key': 'k' }, 'itemPrice', { body: { buyerWalletId: randomUUID(), authorWalletId: randomUUID(), itemPrice: 0 } }],
    [{ 'idempotency-key': 'k' }, 'itemPrice', { body: { buyerWalletId: randomUUID(), authorWalletId: randomUUID(), itemPrice: '5' } }],
    [{ 'idempotency-key': 'k' }, 'buyerWalletId', { body: { buyerWalletId: 'nope', authorWalletId: randomUUID(), itemPrice: 5 } }],
    [{ 'idempotency-key': 'k' }, 'coupon', { body: { buyerWalletId: randomUUID(), authorWalletId: randomUUID(), itemPrice: 5, coupon: 'X' } }],
  ])('rejects headers %j with a 400 naming %s', async (headers, field, extra) => {
    const response = await t.api.post('/purchases', { userId: randomUUID(), headers, ...extra });
    expect(response.status).toBe(400);
    expect(response.body.errors.map((e: { field: string }) => e.field)).toContain(field);
  });

  it('shows a purchase to its buyer, its author and admins; 404 to anyone else', async () => {
    const buyer = await createWallet(t.api, 1_000);
    const author = await createWallet(t.api);
    const created = await purchase(t.api, buyer, author, 250);
    const path = `/purchases/${created.body.id}`;
    for (const userId of [buyer.userId, author.userId, ADMIN_USER_ID, PLATFORM_USER_ID]) {
      const response = await t.api.get(path, { userId });
      expect(response.status).toBe(200);
      expect(response.body).toEqual(created.body);
    }
    expect((await t.api.get(path, { userId: randomUUID() })).status).toBe(404);
    expect((await t.api.get(`/purchases/${randomUUID()}`, { userId: buyer.userId })).status).toBe(404);
  });

  it('many concurrent purchases of one author stay exact', async () => {
    const author = await createWallet(t.api);
    const buyers = await Promise.all(Array.from({ length: 20 }, () => createWallet(t.api, 10_000)));
    const prices = buyers.flatMap((_, i) => [1 + i * 37, 99, 3]);
    const responses = await Promise.all(prices.map((price, i) => purchase(t.api, buyers[i % buyers.length]!, author, price)));
    expect(responses.every((r) => r.status === 201)).toBe(true);
    const volume = prices.reduce((sum, price) => sum + price, 0);
    const { balance, fractionalBalance } = await balanceOf(t, author);
    expect(100 * balance + fractionalBalance).toBe(70 * volume);
    await expectBooksBalanced(t.db.sql);
  });

  it('random purchases, deposits and withdrawals keep every invariant to the cent (property)', async () => {
    const wallets = await Promise.all(Array.from({ length: 6 }, () => createWallet(t.api, 2_000)));
    const operation = fc.oneof(
      fc.record({ kind: fc.constant('purchase' as const), from: fc.nat(5), to: fc.nat(5), amount: fc.integer({ min: 1, max: 900 }) }),
      fc.record({ kind: fc.constant('deposit' as const), from: fc.nat(5), to: fc.constant(0), amount: fc.integer({ min: 1, max: 900 }) }),
      fc.record({ kind: fc.constant('withdrawal' as const), from: fc.nat(5), to: fc.constant(0), amount: fc.integer({ min: 1, max: 900 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(operation, { minLength: 5, maxLength: 25 }), async (operations) => {
        const responses = await Promise.all(
          operations.map((op) => {
            const from = wallets[op.from]!;
            if (op.kind === 'purchase') return purchase(t.api, from, wallets[op.to]!, op.amount);
            if (op.kind === 'deposit') return deposit(t.api, from, op.amount).then(() => ({ status: 201 }));
            return t.api.post(`/wallets/${from.id}/withdrawals`, {
              userId: from.userId,
              idempotencyKey: randomUUID(),
              body: { amount: op.amount },
            });
          }),
        );
        for (const [i, response] of responses.entries()) {
          const op = operations[i]!;
          const allowed = op.kind === 'purchase' && op.from === op.to ? [400] : [201, 402];
          if (!allowed.includes(response.status)) return false;
        }
        await expectBooksBalanced(t.db.sql);
        return true;
      }),
      { numRuns: 15 },
    );
  });
});

describe('purchases when Redis goes away (e2e)', () => {
  let redis: PrivateRedis;
  let t: TestApp;

  beforeAll(async () => {
    redis = await PrivateRedis.start();
    t = await startTestApp({ env: { REDIS_URL: redis.url } });
  });
  afterAll(async () => {
    await t.close().catch(() => undefined);
    await redis.stop();
  });

  it('keeps exactly-once with Redis stopped mid-test, and replays from the database', async () => {
    const buyer = await createWallet(t.api, 10_000);
    const author = await createWallet(t.api);
    const keyBefore = randomUUID();
    expect((await purchase(t.api, buyer, author, 1000, keyBefore)).status).toBe(201);

    await redis.stop();

    // A key completed while Redis was up is replayed from PostgreSQL.
    const replay = await purchase(t.api, buyer, author, 1000, keyBefore);
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect((await purchase(t.api, buyer, author, 999, keyBefore)).status).toBe(422);

    // Five racing requests with one new key: without Redis there is no 409, the database decides.
    const key = randomUUID();
    const responses = await Promise.all(Array.from({ length: 5 }, () => purchase(t.api, buyer, author, 1000, key)));
    expect(responses.map((r) => r.status)).toEqual([201, 201, 201, 201, 201]);
    expect(new Set(responses.map((r) => r.body.id)).size).toBe(1);
    expect(responses.filter((r) => r.headers.get('idempotent-replayed') === null)).toHaveLength(1);
    expect((await balanceOf(t, buyer)).balance).toBe(8_000);
    expect((await balanceOf(t, author)).balance).toBe(1_400);

    await redis.startServer();
    // The service reconnects by itself: readiness comes back without any restart.
    let ready = await t.api.get('/health/ready');
    for (let attempt = 0; attempt < 100 && ready.status !== 200; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      ready = await t.api.get('/health/ready');
    }
    expect(ready.status).toBe(200);
    await expectBooksBalanced(t.db.sql);
  });
});

describe('purchases across two instances (e2e)', () => {
  let first: TestApp;
  let second: TestApp;

  beforeAll(async () => {
    first = await startTestApp();
    second = await startTestApp({ database: first.db, keyPrefix: first.keyPrefix });
  });
  afterAll(async () => {
    await second.close();
    await first.close();
  });

  it('two instances hit with the same key at the same moment create one purchase', async () => {
    const buyer = await createWallet(first.api, 10_000);
    const author = await createWallet(first.api);
    for (let round = 0; round < 5; round++) {
      const key = randomUUID();
      const responses = await Promise.all([
        purchase(first.api, buyer, author, 500, key),
        purchase(second.api, buyer, author, 500, key),
        purchase(first.api, buyer, author, 500, key),
        purchase(second.api, buyer, author, 500, key),
      ]);
      expect(responses.every((r) => r.status === 201 || r.status === 409)).toBe(true);
      const [row] = await first.db.sql`SELECT count(*)::int AS n FROM purchases WHERE idempotency_key = ${key}`;
      expect(row!.n).toBe(1);
    }
    expect((await balanceOf(first, buyer)).balance).toBe(10_000 - 5 * 500);
    await expectBooksBalanced(first.db.sql);
  });
});
