import '../setup/seeded';
import { getQueueToken } from '@nestjs/bullmq';
import type { Queue } from 'bullmq';
import { PAYOUT_RUN_QUEUE, PAYOUT_RUN_SCHEDULER_ID, PAYOUT_SCHEDULE_REQUESTER_ID, scheduledPayoutRunKey } from '../../src/payouts/payout-schedule';
import { PayoutScheduleService } from '../../src/payouts/payout-schedule.service';
import { PayoutsService } from '../../src/payouts/payouts.service';
import { createWallet, TestWallet } from '../factories/wallets.factory';
import { expectBooksBalanced } from '../setup/books';
import { startTestApp, TestApp } from '../setup/test-app';

const PERIOD_MS = 2_000;
const POLLS_MAX = 600;
const POLL_INTERVAL_MS = 50;
const FUNDED_CENTS = [1_500, 2_750, 999, 12_000];

async function fundedWalletsWithDestinations(t: TestApp): Promise<TestWallet[]> {
  const wallets: TestWallet[] = [];
  for (const [index, cents] of FUNDED_CENTS.entries()) {
    const wallet = await createWallet(t.api, cents);
    const stored = await t.api.request('PUT', `/wallets/${wallet.id}/payout-destination`, {
      userId: wallet.userId,
      body: { destination: `acct_${index}` },
    });
    expect(stored.status).toBe(200);
    wallets.push(wallet);
  }
  return wallets;
}

/** Withdrawals per wallet id, with their cents. */
async function payoutsOf(t: TestApp, wallets: TestWallet[]): Promise<Map<string, number[]>> {
  const rows = await t.db.sql<{ wallet_id: string; amount: string }[]>`
    SELECT wallet_id, amount::text FROM withdrawals WHERE wallet_id = ANY(${wallets.map((wallet) => wallet.id)}::uuid[])`;
  const byWallet = new Map<string, number[]>(wallets.map((wallet) => [wallet.id, []]));
  for (const row of rows) byWallet.get(row.wallet_id)!.push(Number(row.amount));
  return byWallet;
}

async function scheduledRuns(t: TestApp) {
  return t.db.sql<{ id: string; idempotency_key: string; payout_count: number; completed_at: Date | null }[]>`
    SELECT id, idempotency_key, payout_count, completed_at FROM payout_runs
     WHERE requested_by = ${PAYOUT_SCHEDULE_REQUESTER_ID}::uuid ORDER BY idempotency_key`;
}

/** Polls `read` until `done` holds; the test fails (by jest's timeout or here) if it never does. */
async function waitFor<T>(read: () => Promise<T>, done: (value: T) => boolean): Promise<T> {
  for (let poll = 0; poll < POLLS_MAX; poll++) {
    const value = await read();
    if (done(value)) return value;
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
  throw new Error('condition not reached');
}

describe('scheduled payout runs across two instances (e2e)', () => {
  let first: TestApp;
  let second: TestApp;

  beforeEach(async () => {
    const env = { PAYOUT_RUN_EVERY: `${PERIOD_MS}ms` };
    first = await startTestApp({ env });
    second = await startTestApp({ env, database: first.db, keyPrefix: first.keyPrefix });
  });
  afterEach(async () => {
    await expectBooksBalanced(first.db.sql);
    await second.close();
    await first.close();
  });

  it('keeps one schedule whatever the number of instances, and restores it when Redis lost it', async () => {
    const queue = first.app.get<Queue>(getQueueToken(PAYOUT_RUN_QUEUE));
    const schedulers = await waitFor(
      () => queue.getJobSchedulers(),
      (found) => found.length > 0,
    );
    expect(schedulers).toHaveLength(1);
    expect(schedulers[0]).toMatchObject({ key: PAYOUT_RUN_SCHEDULER_ID, every: PERIOD_MS });
    expect(await second.app.get(PayoutScheduleService).keepSchedule()).toBe('unchanged');

    // Redis lost it (a restart without persistence): the next check registers it again.
    await queue.removeJobScheduler(PAYOUT_RUN_SCHEDULER_ID);
    expect(await second.app.get(PayoutScheduleService).keepSchedule()).toBe('registered');
    expect(await queue.getJobSchedulers()).toEqual([expect.objectContaining({ key: PAYOUT_RUN_SCHEDULER_ID, every: PERIOD_MS })]);
  });

  it('both workers create one run per period, and each eligible wallet is paid once', async () => {
    const wallets = await fundedWalletsWithDestinations(first);
    const unfunded = await createWallet(first.api);
    await first.api.request('PUT', `/wallets/${unfunded.id}/payout-destination`, {
      userId: unfunded.userId,
      body: { destination: 'acct_empty' },
    });
    const noDestination = await createWallet(first.api, 5_000);

    // Every funded wallet paid by some scheduled run, then one more period completed after that.
    await waitFor(
      () => payoutsOf(first, wallets),
      (byWallet) => [...byWallet.values()].every((amounts) => amounts.length > 0),
    );
    const completedBefore = (await scheduledRuns(first)).filter((run) => run.completed_at !== null).length;
    await waitFor(
      () => scheduledRuns(first),
      (runs) => runs.filter((run) => run.completed_at !== null).length > completedBefore + 1,
    );

    const byWallet = await payoutsOf(first, [...wallets, unfunded, noDestination]);
    for (const [index, wallet] of wallets.entries()) expect(byWallet.get(wallet.id)).toEqual([FUNDED_CENTS[index]]);
    expect(byWallet.get(unfunded.id)).toEqual([]);
    expect(byWallet.get(noDestination.id)).toEqual([]);

    // One run per period: keys are distinct period starts (unique per requester and key anyway),
    // and the runs' payouts add up to the funded wallets, each once.
    const runs = await scheduledRuns(first);
    for (const run of runs) {
      const periodStartMs = Date.parse(run.idempotency_key.replace(/^schedule:/, ''));
      expect(periodStartMs % PERIOD_MS).toBe(0);
      expect(run.idempotency_key).toBe(scheduledPayoutRunKey(periodStartMs));
    }
    expect(new Set(runs.map((run) => run.idempotency_key)).size).toBe(runs.length);
    const withdrawalsOfRuns = await first.db.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM withdrawals
       WHERE idempotency_key = ANY(${runs.map((run) => `payout-run:${run.id}`)}::text[])`;
    expect(withdrawalsOfRuns[0]!.n).toBe(wallets.length);
    expect(runs.reduce((sum, run) => sum + run.payout_count, 0)).toBe(wallets.length);
  });

  it('the same period run by both instances at once, and again after a crash, is one run paying each wallet once', async () => {
    await first.app.get(PayoutScheduleService).onApplicationShutdown();
    await second.app.get(PayoutScheduleService).onApplicationShutdown();
    const queue = first.app.get<Queue>(getQueueToken(PAYOUT_RUN_QUEUE));
    await waitFor(
      () => queue.getJobScheduler(PAYOUT_RUN_SCHEDULER_ID),
      (scheduler) => scheduler !== undefined,
    );
    // The scheduled jobs stop here (and the one running, if any, ends), so only the calls below
    // run payouts.
    await queue.removeJobScheduler(PAYOUT_RUN_SCHEDULER_ID);
    await waitFor(
      () => queue.getJobCounts('active', 'waiting', 'delayed'),
      (counts) => counts.active === 0 && counts.waiting === 0 && counts.delayed === 0,
    );
    const wallets = await fundedWalletsWithDestinations(first);

    const periodStartMs = Math.floor(Date.now() / PERIOD_MS) * PERIOD_MS + 100 * PERIOD_MS;
    const [a, b] = await Promise.all([
      first.app.get(PayoutsService).runScheduled(periodStartMs),
      second.app.get(PayoutsService).runScheduled(periodStartMs),
    ]);
    expect(a.body.id).toBe(b.body.id);
    const again = await second.app.get(PayoutsService).runScheduled(periodStartMs);
    expect(again).toMatchObject({ replayed: true, body: { id: a.body.id, payoutCount: wallets.length } });
    const byWallet = await payoutsOf(first, wallets);
    for (const [index, wallet] of wallets.entries()) expect(byWallet.get(wallet.id)).toEqual([FUNDED_CENTS[index]]);
  });
});

describe('payout schedule turned off (e2e)', () => {
  let t: TestApp;

  beforeEach(async () => {
    t = await startTestApp();
  });
  afterEach(async () => {
    await t.close();
  });

  it('a worker without PAYOUT_RUN_EVERY removes a schedule left in Redis, and registers none', async () => {
    const queue = t.app.get<Queue>(getQueueToken(PAYOUT_RUN_QUEUE));
    const keeper = t.app.get(PayoutScheduleService);
    expect(await keeper.keepSchedule()).toBe('unchanged');
    await queue.upsertJobScheduler(PAYOUT_RUN_SCHEDULER_ID, { every: 3_600_000 }, { name: 'scheduled-payout-run', data: {} });
    expect(await keeper.keepSchedule()).toBe('removed');
    expect(await queue.getJobSchedulers()).toHaveLength(0);
  });
});
