import fc from 'fast-check';
import '../setup/seeded';
import { randomUUID } from 'node:crypto';
import { createWallet, deposit, TestWallet } from '../factories/wallets.factory';
import { expectBooksBalanced } from '../setup/books';
import { ADMIN_USER_ID, startTestApp, TestApp } from '../setup/test-app';

const POLLS_MAX = 400;
const POLL_INTERVAL_MS = 50;

function withdraw(t: TestApp, wallet: TestWallet, amountCents: number, destination?: string, idempotencyKey = randomUUID()) {
  return t.api.post(`/wallets/${wallet.id}/withdrawals`, {
    userId: wallet.userId,
    idempotencyKey,
    body: destination === undefined ? { amount: amountCents } : { amount: amountCents, destination },
  });
}

const settle = (t: TestApp, withdrawalId: string, userId = ADMIN_USER_ID) =>
  t.api.post(`/withdrawals/${withdrawalId}/settle`, { userId });

const fail = (t: TestApp, withdrawalId: string, reason = 'account_closed', userId = ADMIN_USER_ID) =>
  t.api.post(`/withdrawals/${withdrawalId}/fail`, { userId, body: { reason } });

async function balanceOf(t: TestApp, wallet: TestWallet): Promise<number> {
  const response = await t.api.get(`/wallets/${wallet.id}`, { userId: wallet.userId });
  expect(response.status).toBe(200);
  return response.body.balance as number;
}

async function setDestination(t: TestApp, wallet: TestWallet, destination: string) {
  return t.api.request('PUT', `/wallets/${wallet.id}/payout-destination`, { userId: wallet.userId, body: { destination } });
}

async function financialReport(t: TestApp) {
  const queued = await t.api.post('/reports/financial', { userId: ADMIN_USER_ID });
  expect(queued.status).toBe(202);
  for (let poll = 0; poll < POLLS_MAX; poll++) {
    const read = await t.api.get(`/reports/financial/${queued.body.jobId}`, { userId: ADMIN_USER_ID });
    if (read.body.status === 'completed') return read.body.result;
    if (read.body.status === 'failed') throw new Error(`report failed: ${read.body.error}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
  throw new Error('report did not finish');
}

describe('payouts (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await expectBooksBalanced(t.db.sql);
    await t.close();
  });

  it('a withdrawal is pending, then paid once; settling or failing it again is 409 WITHDRAWAL_NOT_PENDING', async () => {
    const wallet = await createWallet(t.api, 5_000);
    const created = await withdraw(t, wallet, 1_200, 'acct_123');
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      id: expect.any(String),
      walletId: wallet.id,
      amount: 1_200,
      status: 'pending',
      destination: 'acct_123',
      failureReason: null,
      createdAt: expect.any(String),
      resolvedAt: null,
    });
    expect(await balanceOf(t, wallet)).toBe(3_800);

    const read = await t.api.get(`/withdrawals/${created.body.id}`, { userId: wallet.userId });
    expect(read.status).toBe(200);
    expect(read.body).toEqual(created.body);

    const paid = await settle(t, created.body.id);
    expect(paid.status).toBe(200);
    expect(paid.body).toEqual({ ...created.body, status: 'paid', resolvedAt: expect.any(String) });
    expect(await balanceOf(t, wallet)).toBe(3_800);

    for (const again of [await settle(t, created.body.id), await fail(t, created.body.id)]) {
      expect(again.status).toBe(409);
      expect(again.body.code).toBe('WITHDRAWAL_NOT_PENDING');
    }
    expect((await t.api.get(`/withdrawals/${created.body.id}`, { userId: ADMIN_USER_ID })).body.status).toBe('paid');
    await expectBooksBalanced(t.db.sql);
  });

  it('a failed payout returns the money to the wallet, says why, and announces each step as an event', async () => {
    const wallet = await createWallet(t.api, 2_000);
    const created = await withdraw(t, wallet, 2_000);
    expect(created.status).toBe(201);
    expect(await balanceOf(t, wallet)).toBe(0);

    const failed = await fail(t, created.body.id, 'account_closed');
    expect(failed.status).toBe(200);
    expect(failed.body).toMatchObject({ id: created.body.id, status: 'failed', failureReason: 'account_closed' });
    expect(await balanceOf(t, wallet)).toBe(2_000);
    expect((await settle(t, created.body.id)).status).toBe(409);

    const events = await t.api.get(`/events?limit=100`, { userId: wallet.userId });
    expect(events.status).toBe(200);
    const mine = (events.body.items as { type: string; data: { id?: string; status?: string } }[]).filter(
      (event) => event.data.id === created.body.id,
    );
    expect(mine.map((event) => [event.type, event.data.status])).toEqual([
      ['withdrawal.created', 'pending'],
      ['withdrawal.failed', 'failed'],
    ]);
    await expectBooksBalanced(t.db.sql);
  });

  it('settle and fail are for admins (403); a withdrawal is read by its owner or an admin (404 to anyone else)', async () => {
    const wallet = await createWallet(t.api, 500);
    const stranger = await createWallet(t.api);
    const created = await withdraw(t, wallet, 100);
    expect((await settle(t, created.body.id, wallet.userId)).status).toBe(403);
    expect((await fail(t, created.body.id, 'x', wallet.userId)).status).toBe(403);
    expect((await t.api.get(`/withdrawals/${created.body.id}`, { userId: stranger.userId })).status).toBe(404);
    expect((await t.api.get(`/wallets/${wallet.id}/withdrawals`, { userId: stranger.userId })).status).toBe(404);
    const unknown = await settle(t, randomUUID());
    expect(unknown.status).toBe(404);
    expect(unknown.body.code).toBe('WITHDRAWAL_NOT_FOUND');
    expect((await t.api.post(`/withdrawals/${created.body.id}/fail`, { userId: ADMIN_USER_ID, body: {} })).status).toBe(400);
    expect((await t.api.post(`/withdrawals/${created.body.id}/fail`, { userId: ADMIN_USER_ID, body: { reason: 'x'.repeat(501) } })).status).toBe(400);
    expect((await withdraw(t, wallet, 100, 'x'.repeat(201))).status).toBe(400);
    expect((await t.api.get(`/withdrawals/${created.body.id}`, { userId: wallet.userId })).body.status).toBe('pending');
  });

  it("lists a wallet's withdrawals newest first, by status, a page at a time", async () => {
    const wallet = await createWallet(t.api, 10_000);
    const ids: string[] = [];
    for (let i = 1; i <= 5; i++) ids.push((await withdraw(t, wallet, i * 100)).body.id as string);
    expect((await settle(t, ids[0]!)).status).toBe(200);
    expect((await fail(t, ids[1]!)).status).toBe(200);

    const seen: string[] = [];
    let cursor: string | null = null;
    for (let page = 0; page < 10; page++) {
      const response: { status: number; body: { items: { id: string }[]; nextCursor: string | null } } = await t.api.get(
        `/wallets/${wallet.id}/withdrawals?limit=2${cursor === null ? '' : `&cursor=${cursor}`}`,
        { userId: wallet.userId },
      );
      expect(response.status).toBe(200);
      seen.push(...response.body.items.map((item) => item.id));
      cursor = response.body.nextCursor;
      if (cursor === null) break;
    }
    expect(seen).toEqual([...ids].reverse());

    const byStatus = async (status: string) =>
      ((await t.api.get(`/wallets/${wallet.id}/withdrawals?status=${status}`, { userId: ADMIN_USER_ID })).body.items as {
        id: string;
      }[]).map((item) => item.id);
    expect(await byStatus('paid')).toEqual([ids[0]]);
    expect(await byStatus('failed')).toEqual([ids[1]]);
    expect(await byStatus('pending')).toEqual([ids[4], ids[3], ids[2]]);
    expect((await t.api.get(`/wallets/${wallet.id}/withdrawals?status=lost`, { userId: wallet.userId })).status).toBe(400);
    expect((await t.api.get(`/wallets/${wallet.id}/withdrawals?cursor=bm9wZQ`, { userId: wallet.userId })).status).toBe(400);
  });

  it('settle and fail racing on the same payouts: exactly one transition wins each, the other is 409', async () => {
    const wallet = await createWallet(t.api, 10_000);
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) ids.push((await withdraw(t, wallet, 1_000)).body.id as string);
    expect(await balanceOf(t, wallet)).toBe(2_000);
    const results = await Promise.all(ids.flatMap((id) => [settle(t, id), fail(t, id), settle(t, id), fail(t, id)]));
    for (let i = 0; i < ids.length; i++) {
      const four = results.slice(i * 4, i * 4 + 4);
      expect(four.filter((response) => response.status === 200)).toHaveLength(1);
      expect(four.filter((response) => response.status === 409)).toHaveLength(3);
    }
    const failedCount = results.filter((response) => response.status === 200 && response.body.status === 'failed').length;
    expect(await balanceOf(t, wallet)).toBe(2_000 + failedCount * 1_000);
    await expectBooksBalanced(t.db.sql);
  });

  it('refuses withdrawals below PAYOUT_MINIMUM_CENTS with 422 PAYOUT_BELOW_MINIMUM, moving nothing', async () => {
    const strict = await startTestApp({ database: t.db, env: { PAYOUT_MINIMUM_CENTS: '500' } });
    try {
      const wallet = await createWallet(strict.api, 1_000);
      const small = await withdraw(strict, wallet, 499);
      expect(small.status).toBe(422);
      expect(small.body.code).toBe('PAYOUT_BELOW_MINIMUM');
      expect(await balanceOf(strict, wallet)).toBe(1_000);
      expect((await withdraw(strict, wallet, 500)).status).toBe(201);
    } finally {
      await strict.close();
    }
  });

  it('payout runs pay every wallet at or above the minimum with a destination once, even when two run at once', async () => {
    const paidOut = await Promise.all([3_000, 1, 7_777].map((cents) => createWallet(t.api, cents)));
    const noDestination = await createWallet(t.api, 4_000);
    for (const [index, wallet] of paidOut.entries()) expect((await setDestination(t, wallet, `acct_${index}`)).status).toBe(200);
    const stored = await setDestination(t, paidOut[0]!, 'acct_0b');
    expect(stored.body).toEqual({ walletId: paidOut[0]!.id, destination: 'acct_0b', updatedAt: expect.any(String) });
    expect((await setDestination(t, paidOut[0]!, ' padded')).status).toBe(400);

    expect((await t.api.post('/admin/payout-runs', { userId: paidOut[0]!.userId, idempotencyKey: randomUUID() })).status).toBe(403);
    expect((await t.api.post('/admin/payout-runs', { userId: ADMIN_USER_ID })).status).toBe(400);

    const key = randomUUID();
    const [first, second, other] = await Promise.all([
      t.api.post('/admin/payout-runs', { userId: ADMIN_USER_ID, idempotencyKey: key }),
      t.api.post('/admin/payout-runs', { userId: ADMIN_USER_ID, idempotencyKey: key }),
      t.api.post('/admin/payout-runs', { userId: ADMIN_USER_ID, idempotencyKey: randomUUID() }),
    ]);
    expect([first.status, second.status, other.status]).toEqual([201, 201, 201]);
    expect(second.body.id).toBe(first.body.id);

    for (const wallet of paidOut) {
      expect(await balanceOf(t, wallet)).toBe(0);
      const list = await t.api.get(`/wallets/${wallet.id}/withdrawals`, { userId: wallet.userId });
      expect(list.body.items).toHaveLength(1);
      expect(list.body.items[0]).toMatchObject({ status: 'pending', destination: expect.stringMatching(/^acct_/) });
    }
    expect(await balanceOf(t, noDestination)).toBe(4_000);
    // Every payout of either run is counted by the run that made it, and only once.
    const counted = (await t.db.sql`SELECT coalesce(sum(payout_count), 0)::int AS n, coalesce(sum(total), 0)::int AS cents
                                      FROM payout_runs WHERE id IN (${first.body.id}, ${other.body.id})`)[0]!;
    expect(counted.n).toBeGreaterThanOrEqual(3);
    const replay = await t.api.post('/admin/payout-runs', { userId: ADMIN_USER_ID, idempotencyKey: key });
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual({ ...first.body, completedAt: replay.body.completedAt });
    await expectBooksBalanced(t.db.sql);
  });

  it('the financial report shows payouts pending, paid and failed, and reconciliation finds the pending state clean', async () => {
    const before = await financialReport(t);
    const wallet = await createWallet(t.api, 6_000);
    const [a, b, c] = [await withdraw(t, wallet, 1_000), await withdraw(t, wallet, 2_000), await withdraw(t, wallet, 3_000)];
    await settle(t, a.body.id);
    await fail(t, b.body.id);
    const after = await financialReport(t);
    expect(after.totalWithdrawn - before.totalWithdrawn).toBe(1_000 + 3_000);
    expect(after.payoutsPaid - before.payoutsPaid).toBe(1_000);
    expect(after.payoutsFailed - before.payoutsFailed).toBe(2_000);
    expect(after.payoutsPending - before.payoutsPending).toBe(3_000);
    expect(after.totalWithdrawn).toBe(after.payoutsPending + after.payoutsPaid);
    const metrics = await t.api.get('/metrics');
    expect(metrics.body).toContain(`wallet_payouts_cents{state="failed"} ${after.payoutsFailed}`);
    expect(metrics.body).toContain(`wallet_payouts_cents{state="paid"} ${after.payoutsPaid}`);
    expect(c.status).toBe(201);

    const queued = await t.api.post('/admin/reconciliations', { userId: ADMIN_USER_ID });
    expect(queued.status).toBe(202);
    let run: { status: string; driftCount: number; checked: Record<string, number> } | undefined;
    for (let poll = 0; poll < POLLS_MAX && !(run && ['completed', 'failed'].includes(run.status)); poll++) {
      await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
      run = (await t.api.get(`/admin/reconciliations/${queued.body.runId}`, { userId: ADMIN_USER_ID })).body;
    }
    expect(run).toMatchObject({ status: 'completed', driftCount: 0 });
    expect(run!.checked.pendingPayouts).toBeGreaterThan(0);
  });

  it('money is conserved through any sequence of withdrawals, settlements, failures and deposits (property)', async () => {
    const command = fc.oneof(
      fc.record({ kind: fc.constant('withdraw' as const), amount: fc.integer({ min: 1, max: 3_000 }) }),
      fc.record({ kind: fc.constant('settle' as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant('fail' as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant('deposit' as const), amount: fc.integer({ min: 1, max: 2_000 }) }),
    );
    await fc.assert(
      fc.asyncProperty(fc.array(command, { minLength: 1, maxLength: 12 }), async (commands) => {
        const wallet = await createWallet(t.api, 5_000);
        let balance = 5_000;
        const pending: { id: string; amount: number }[] = [];
        const resolved: string[] = [];
        for (const step of commands) {
          if (step.kind === 'deposit') {
            await deposit(t.api, wallet, step.amount);
            balance += step.amount;
          } else if (step.kind === 'withdraw') {
            const response = await withdraw(t, wallet, step.amount);
            expect(response.status).toBe(step.amount <= balance ? 201 : 402);
            if (response.status === 201) {
              balance -= step.amount;
              pending.push({ id: response.body.id, amount: step.amount });
            }
          } else if (pending.length > 0 || resolved.length > 0) {
            const all = [...pending.map((p) => p.id), ...resolved];
            const id = all[step.pick % all.length]!;
            const index = pending.findIndex((p) => p.id === id);
            const response = step.kind === 'settle' ? await settle(t, id) : await fail(t, id);
            if (index === -1) {
              expect(response.status).toBe(409);
            } else {
              expect(response.status).toBe(200);
              if (step.kind === 'fail') balance += pending[index]!.amount;
              pending.splice(index, 1);
              resolved.push(id);
            }
          }
          expect(await balanceOf(t, wallet)).toBe(balance);
        }
      }),
      { numRuns: 15 },
    );
    await expectBooksBalanced(t.db.sql);
  });
});
