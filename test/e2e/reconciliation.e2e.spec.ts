import { getQueueToken } from '@nestjs/bullmq';
import { Logger } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { randomUUID } from 'node:crypto';
import { RECONCILIATION_QUEUE } from '../../src/reconciliation/reconciliation.queue';
import { ReconciliationRepository } from '../../src/reconciliation/reconciliation.repository';
import { ENTRY_RANGE_SIZE } from '../../src/reconciliation/reconciliation.checks';
import { DRIFT_DETAILS_MAX } from '../../src/reconciliation/reconciliation.runner';
import { ReconciliationService } from '../../src/reconciliation/reconciliation.service';
import type { RunOutcome } from '../../src/reconciliation/reconciliation.types';
import { createWallet, deposit, purchase, refund, TestWallet } from '../factories/wallets.factory';
import { expectBooksBalanced, readBooks } from '../setup/books';
import { ADMIN_USER_ID, PLATFORM_USER_ID, startTestApp, TestApp } from '../setup/test-app';

const RUN_LOCK_KEY = 7_240_913_001;
const POLLS_MAX = 600;
const POLL_INTERVAL_MS = 50;

interface RunBody {
  runId: string;
  status: string;
  fixBalances: boolean;
  checked: Record<string, number> | null;
  drifts: { check: string; key: Record<string, string>; before: Record<string, number>; expected: Record<string, number>; corrected: boolean }[];
  driftCount: number;
  correctedCount: number;
}

async function runReconciliation(t: TestApp): Promise<RunBody> {
  const queued = await t.api.post('/admin/reconciliations', { userId: ADMIN_USER_ID });
  expect(queued.status).toBe(202);
  return waitForRun(t, queued.body.runId);
}

async function waitForRun(t: TestApp, runId: string): Promise<RunBody> {
  for (let poll = 0; poll < POLLS_MAX; poll++) {
    const response = await t.api.get(`/admin/reconciliations/${runId}`, { userId: ADMIN_USER_ID });
    expect(response.status).toBe(200);
    if (response.body.status === 'completed' || response.body.status === 'failed') return response.body;
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
  throw new Error(`run ${runId} did not finish`);
}

/** Some money movement: deposits, purchases with carries, a withdrawal. */
async function trade(t: TestApp): Promise<{ buyer: TestWallet; author: TestWallet; purchaseId: string }> {
  const buyer = await createWallet(t.api, 50_000);
  const author = await createWallet(t.api);
  let purchaseId = '';
  for (const price of [1999, 1, 333, 2500]) {
    const response = await purchase(t.api, buyer, author, price);
    expect(response.status).toBe(201);
    purchaseId = response.body.id;
  }
  const withdrawal = await t.api.post(`/wallets/${author.id}/withdrawals`, {
    userId: author.userId,
    idempotencyKey: randomUUID(),
    body: { amount: 100 },
  });
  expect(withdrawal.status).toBe(201);
  return { buyer, author, purchaseId };
}

/** The row version of every derived row and wallet, to show a clean run writes nothing. */
async function rowVersions(t: TestApp): Promise<string[]> {
  const rows = await t.db.sql<{ v: string }[]>`
    SELECT 'running_totals:' || slot || ':' || xmin::text AS v FROM running_totals
    UNION ALL SELECT 'hourly_rollups:' || bucket_start || ':' || slot || ':' || xmin::text FROM hourly_rollups
    UNION ALL SELECT 'author_hourly_rollups:' || author_wallet_id || ':' || bucket_start || ':' || xmin::text FROM author_hourly_rollups
    UNION ALL SELECT 'author_daily_rollups:' || author_wallet_id || ':' || day_start || ':' || xmin::text FROM author_daily_rollups
    UNION ALL SELECT 'wallets:' || id || ':' || xmin::text FROM wallets
    ORDER BY 1`;
  return rows.map((row) => row.v);
}

/** What the reconciliation service logged at the given levels while `work` ran. */
async function loggedBy<T>(
  levels: readonly ('error' | 'warn' | 'log')[],
  work: () => Promise<T>,
): Promise<{ result: T; messages: string[] }> {
  const spies = levels.map((level) => ({ level, spy: jest.spyOn(Logger.prototype, level) }));
  try {
    const result = await work();
    const messages = spies.flatMap(({ level, spy }) =>
      spy.mock.calls
        .filter((_call, index) => (spy.mock.contexts[index] as { context?: string }).context === 'ReconciliationService')
        .map((call) => `${level}: ${String(call[1] ?? call[0])}`),
    );
    return { result, messages };
  } finally {
    for (const { spy } of spies) spy.mockRestore();
  }
}

const checksOf = (run: RunBody) => run.drifts.map((drift) => drift.check).sort();

// Every test starts its own instance on a database of its own: a test corrupts the books on
// purpose, and no other test may see that (or depend on it).
describe('reconciliation (e2e)', () => {
  let t: TestApp;
  let parties: Awaited<ReturnType<typeof trade>>;

  beforeEach(async () => {
    t = await startTestApp();
    parties = await trade(t);
  });
  afterEach(async () => {
    await t.close();
  });

  it('a clean run finds nothing and writes no row', async () => {
    const before = await rowVersions(t);
    expect(before.length).toBeGreaterThan(5);
    const { result: run, messages } = await loggedBy(['error', 'warn', 'log'], () => runReconciliation(t));
    expect(messages).toEqual([]);
    expect(run).toMatchObject({ status: 'completed', driftCount: 0, correctedCount: 0, drifts: [] });
    expect(run.checked).toMatchObject({ runningTotals: 1, purchases: 4 });
    expect(run.checked!.ledgerEntries).toBeGreaterThanOrEqual(14);
    expect(run.checked!.wallets).toBe(3);
    expect(run.checked!.hourlyBuckets).toBeGreaterThanOrEqual(1);
    expect(run.checked!.authorHourlyBuckets).toBeGreaterThanOrEqual(1);
    expect(run.checked!.authorDailyBuckets).toBeGreaterThanOrEqual(1);
    expect(await rowVersions(t)).toEqual(before);
    await expectBooksBalanced(t.db.sql);
  });

  it('finds drift in totals, rollups, a balance and a carry; repairs the aggregates, reports the wallets', async () => {
    const { buyer, author } = parties;
    const [slot] = await t.db.sql`SELECT slot FROM running_totals ORDER BY slot LIMIT 1`;
    await t.db.sql`UPDATE running_totals SET deposited = deposited + 7 WHERE slot = ${slot!.slot}`;
    const [bucket] = await t.db.sql`SELECT bucket_start, slot FROM hourly_rollups ORDER BY bucket_start, slot LIMIT 1`;
    await t.db.sql`
      UPDATE hourly_rollups SET purchase_volume = purchase_volume + 11
       WHERE bucket_start = ${bucket!.bucket_start} AND slot = ${bucket!.slot}`;
    // The hourly change reaches the daily row through the trigger, and its repair undoes both;
    // the direct daily change is found by the daily check alone.
    await t.db.sql`UPDATE author_hourly_rollups SET royalty = royalty - 5 WHERE author_wallet_id = ${author.id}`;
    await t.db.sql`UPDATE author_daily_rollups SET sales_count = sales_count + 2 WHERE author_wallet_id = ${author.id}`;
    await t.db.sql`UPDATE wallets SET balance = balance + 100 WHERE id = ${buyer.id}`;
    await t.db.sql`UPDATE wallets SET fractional_balance = (fractional_balance + 1) % 100 WHERE id = ${author.id}`;
    const drifted = await readBooks(t.db.sql);
    expect(drifted.walletsOffLedger).toBe(1);
    expect(drifted.authorsOffIdentity).toBe(1);

    const { result: run, messages } = await loggedBy(['error', 'warn', 'log'], () => runReconciliation(t));
    expect(messages).toEqual(['error: reconciliation found drift']);
    expect(run.status).toBe('completed');
    expect(checksOf(run)).toEqual(
      ['author_daily_rollups', 'author_hourly_rollups', 'hourly_rollups', 'running_totals', 'wallet_balances', 'wallet_carries'].sort(),
    );
    const byCheck = Object.fromEntries(run.drifts.map((drift) => [drift.check, drift]));
    expect(byCheck.running_totals!.before.deposited - byCheck.running_totals!.expected.deposited).toBe(7);
    expect(byCheck.running_totals!.corrected).toBe(true);
    expect(byCheck.hourly_rollups!.before.purchaseVolume - byCheck.hourly_rollups!.expected.purchaseVolume).toBe(11);
    expect(byCheck.hourly_rollups!.corrected).toBe(true);
    expect(byCheck.author_hourly_rollups!.key.authorWalletId).toBe(author.id);
    expect(byCheck.author_hourly_rollups!.expected.royalty - byCheck.author_hourly_rollups!.before.royalty).toBe(5);
    expect(byCheck.author_hourly_rollups!.corrected).toBe(true);
    expect(byCheck.author_daily_rollups!.key.authorWalletId).toBe(author.id);
    expect(byCheck.author_daily_rollups!.before.salesCount - byCheck.author_daily_rollups!.expected.salesCount).toBe(2);
    expect(byCheck.author_daily_rollups!.before.royalty).toBe(byCheck.author_daily_rollups!.expected.royalty);
    expect(byCheck.author_daily_rollups!.corrected).toBe(true);
    expect(byCheck.wallet_balances).toMatchObject({ key: { walletId: buyer.id }, corrected: false });
    expect(byCheck.wallet_balances!.before.balance - byCheck.wallet_balances!.expected.balance).toBe(100);
    expect(byCheck.wallet_carries).toMatchObject({ key: { walletId: author.id }, corrected: false });
    expect(run.driftCount).toBe(6);
    expect(run.correctedCount).toBe(4);

    const after = await readBooks(t.db.sql);
    expect(after.totals).toEqual(after.totalsFromLedger);
    expect(after.rollupsMatchTotals).toBe(true);
    // Reported, not rewritten.
    expect(after.walletsOffLedger).toBe(1);
    expect(after.authorsOffIdentity).toBe(1);

    const again = await runReconciliation(t);
    expect(checksOf(again)).toEqual(['wallet_balances', 'wallet_carries']);
  });

  it('admin endpoints: 401 without identity, 403 to queue and 404 to read for non-admins, 400 on a bad id', async () => {
    const user = randomUUID();
    expect((await t.api.post('/admin/reconciliations')).status).toBe(401);
    const forbidden = await t.api.post('/admin/reconciliations', { userId: user });
    expect(forbidden.status).toBe(403);
    expect(forbidden.body.code).toBe('FORBIDDEN');
    const run = await runReconciliation(t);
    const hidden = await t.api.get(`/admin/reconciliations/${run.runId}`, { userId: user });
    expect(hidden.status).toBe(404);
    expect((await t.api.get(`/admin/reconciliations/${randomUUID()}`, { userId: ADMIN_USER_ID })).status).toBe(404);
    expect((await t.api.get('/admin/reconciliations/not-a-uuid', { userId: ADMIN_USER_ID })).status).toBe(400);
  });

  it('counts deposits per hour from the same entries as the running totals', async () => {
    const { buyer } = parties;
    // A balanced deposit in the ledger with no deposits row: only the entries say it happened.
    const depositId = randomUUID();
    await t.db.sql`INSERT INTO ledger_transactions (id, type, created_at) VALUES (${depositId}, 'deposit', now())`;
    await t.db.sql`
      INSERT INTO ledger_entries (transaction_id, wallet_id, system_account, amount, created_at)
      VALUES (${depositId}, NULL, 'funding', -4321, now()), (${depositId}, ${buyer.id}, NULL, 4321, now())`;
    await t.db.sql`UPDATE wallets SET balance = balance + 4321 WHERE id = ${buyer.id}`;

    const run = await runReconciliation(t);
    expect(checksOf(run)).toEqual(['hourly_rollups', 'running_totals']);
    expect(run.drifts.every((drift) => drift.corrected)).toBe(true);
    for (const drift of run.drifts) expect(drift.expected.deposited - drift.before.deposited).toBe(4321);
    const books = await expectBooksBalanced(t.db.sql);
    expect(books.totals.deposited).toBe(books.totalsFromLedger.deposited);
    expect((await runReconciliation(t)).driftCount).toBe(0);
  });

  it('reports orphan entries, unbalanced transactions, purchase legs and the ledger sum, and rewrites none', async () => {
    const { buyer, purchaseId } = parties;
    const orphanTransaction = randomUUID();
    const ghostWallet = randomUUID();
    await t.db.sql`INSERT INTO ledger_transactions (id, type, created_at) VALUES (${orphanTransaction}, 'deposit', now())`;
    await t.db.sql`
      INSERT INTO ledger_entries (transaction_id, wallet_id, amount, created_at)
      VALUES (${orphanTransaction}, ${ghostWallet}, 500, now())`;
    // An extra posting inside a real purchase: its legs, its balance and the buyer's balance break.
    await t.db.sql`
      INSERT INTO ledger_entries (transaction_id, wallet_id, amount, created_at)
      VALUES (${purchaseId}, ${buyer.id}, -3, now())`;
    const versions = await t.db.sql`SELECT count(*)::int AS n FROM ledger_entries`;

    const run = await runReconciliation(t);
    expect(checksOf(run)).toEqual(
      ['ledger_sum', 'orphan_entries', 'purchase_legs', 'transaction_balance', 'transaction_balance', 'wallet_balances'].sort(),
    );
    const orphan = run.drifts.find((drift) => drift.check === 'orphan_entries')!;
    expect(orphan).toMatchObject({ key: { walletId: ghostWallet }, before: { entries: 1, amount: 500 }, corrected: false });
    const unbalanced = run.drifts.filter((drift) => drift.check === 'transaction_balance').map((drift) => drift.key.transactionId);
    expect(unbalanced.sort()).toEqual([orphanTransaction, purchaseId].sort());
    expect(run.drifts.find((drift) => drift.check === 'ledger_sum')!.before.sum).toBe(497);
    expect(run.drifts.find((drift) => drift.check === 'purchase_legs')).toMatchObject({
      key: { purchaseId },
      before: { legs: 4 },
      expected: { legs: 3 },
    });
    expect(run.correctedCount).toBe(0);
    expect(await t.db.sql`SELECT count(*)::int AS n FROM ledger_entries`).toEqual(versions);
  });
});

describe('reconciliation of purchases the platform wallet makes or sells (e2e)', () => {
  let t: TestApp;

  beforeEach(async () => {
    t = await startTestApp();
  });
  afterEach(async () => {
    await t.close();
  });

  it('finds no drift in them, and still finds a leg posted to the wrong wallet', async () => {
    const opened = await t.api.post('/wallets', { userId: PLATFORM_USER_ID });
    expect(opened.status).toBe(200);
    const platform: TestWallet = { id: opened.body.id, userId: PLATFORM_USER_ID };
    const author = await createWallet(t.api);
    const buyer = await createWallet(t.api, 10_000);
    await deposit(t.api, platform, 10_000);
    // The platform buys (its buyer and platform legs name one wallet), then sells.
    const purchaseIds: string[] = [];
    for (const [from, to, price] of [
      [platform, author, 1999],
      [platform, author, 1],
      [buyer, platform, 2500],
      [buyer, platform, 1],
    ] as const) {
      const response = await purchase(t.api, from, to, price);
      expect(response.status).toBe(201);
      purchaseIds.push(response.body.id);
    }
    await expectBooksBalanced(t.db.sql);

    const clean = await runReconciliation(t);
    expect(clean.drifts).toEqual([]);
    expect(clean.driftCount).toBe(0);
    expect(clean.checked!.purchases).toBe(4);

    // 5 cents of the platform's own purchase posted to the author instead: the transaction and
    // both wallets still balance, only the legs are wrong.
    const [platformBuys] = purchaseIds;
    await t.db.sql`
      INSERT INTO ledger_entries (transaction_id, wallet_id, amount, created_at)
      VALUES (${platformBuys!}, ${platform.id}, -5, now()), (${platformBuys!}, ${author.id}, 5, now())`;
    await t.db.sql`UPDATE wallets SET balance = balance - 5 WHERE id = ${platform.id}`;
    await t.db.sql`UPDATE wallets SET balance = balance + 5 WHERE id = ${author.id}`;
    expect(await readBooks(t.db.sql)).toMatchObject({ entriesSum: 0, unbalancedTransactions: 0, walletsOffLedger: 0 });
    const run = await runReconciliation(t);
    // 1999 at 70%: the author gets 1399, the platform 600; the platform's wallet nets -1399.
    expect(run.drifts).toEqual([
      {
        check: 'purchase_legs',
        key: { purchaseId: platformBuys },
        before: { buyer: -1404, author: 1404, platform: -1404, other: 0, legs: 5 },
        expected: { buyer: -1399, author: 1399, platform: -1399, other: 0, legs: 3 },
        corrected: false,
      },
    ]);
  });
});

describe('reconciliation with RECONCILE_FIX_BALANCES=true (e2e)', () => {
  let t: TestApp;

  beforeEach(async () => {
    t = await startTestApp({ env: { RECONCILE_FIX_BALANCES: 'true' } });
  });
  afterEach(async () => {
    await t.close();
  });

  it('rewrites a drifted balance and carry from the ledger', async () => {
    const { buyer, author } = await trade(t);
    await t.db.sql`UPDATE wallets SET balance = balance + 250 WHERE id = ${buyer.id}`;
    await t.db.sql`UPDATE wallets SET fractional_balance = (fractional_balance + 37) % 100 WHERE id = ${author.id}`;
    const run = await runReconciliation(t);
    expect(run.fixBalances).toBe(true);
    expect(checksOf(run)).toEqual(['wallet_balances', 'wallet_carries']);
    expect(run.drifts.every((drift) => drift.corrected)).toBe(true);
    expect(run.correctedCount).toBe(2);
    await expectBooksBalanced(t.db.sql);
    const wallet = await t.api.get(`/wallets/${buyer.id}`, { userId: buyer.userId });
    expect(wallet.body.balance).toBe(run.drifts.find((drift) => drift.check === 'wallet_balances')!.expected.balance);
  });

  it('counts and rewrites every drifted wallet, however many, and stores a bounded sample', async () => {
    // More drifted wallets than one statement details: balances and carries that no ledger entry
    // or purchase explains.
    const drifted = 1_005;
    await t.db.sql`
      WITH users AS (
        INSERT INTO users (id) SELECT gen_random_uuid() FROM generate_series(1, ${drifted}) RETURNING id
      )
      INSERT INTO wallets (user_id, balance, fractional_balance) SELECT id, 7, 3 FROM users`;
    // And one whose slots hold more than its ledger: the fix would make the row negative.
    const unfixable = await createWallet(t.api);
    await t.db.sql`INSERT INTO wallet_balance_slots (wallet_id, slot, balance) VALUES (${unfixable.id}, 0, 10)`;
    expect((await readBooks(t.db.sql)).walletsOffLedger).toBe(drifted + 1);

    const run = await runReconciliation(t);
    expect(run.driftCount).toBe(2 * drifted + 1);
    expect(run.correctedCount).toBe(2 * drifted);
    expect(run.drifts).toHaveLength(DRIFT_DETAILS_MAX);
    const [left] = await t.db.sql`
      SELECT count(*)::int AS n FROM wallets WHERE balance = 7 OR fractional_balance = 3`;
    expect(left!.n).toBe(0);
    expect((await readBooks(t.db.sql)).walletsOffLedger).toBe(1);
    const [slot] = await t.db.sql`SELECT sum(balance)::int AS n FROM wallet_balance_slots WHERE wallet_id = ${unfixable.id}`;
    expect(slot!.n).toBe(10);

    await t.db.sql`DELETE FROM wallet_balance_slots WHERE wallet_id = ${unfixable.id}`;
    await expectBooksBalanced(t.db.sql);
    expect((await runReconciliation(t)).driftCount).toBe(0);
  });
});

describe('reconciliation while a transaction across an entry range edge commits (e2e)', () => {
  let t: TestApp;

  beforeEach(async () => {
    t = await startTestApp();
  });
  afterEach(async () => {
    await t.close();
  });

  it('sees it whole or not at all: no false ledger_sum', async () => {
    const { buyer } = await trade(t);
    const [first] = await t.db.sql`SELECT min(id)::int AS id FROM ledger_entries`;
    const edge = first!.id + ENTRY_RANGE_SIZE;
    // The next two ids are the last of the first range and the first of the second.
    await t.db.sql`SELECT setval('ledger_entries_id_seq', ${edge - 2})`;
    const straddling = randomUUID();
    const pending = await t.db.sql.reserve();
    try {
      await pending`BEGIN`;
      await pending`INSERT INTO ledger_transactions (id, type, created_at) VALUES (${straddling}, 'deposit', now())`;
      const ids = await pending<{ id: string }[]>`
        INSERT INTO ledger_entries (transaction_id, wallet_id, amount, created_at)
        VALUES (${straddling}, ${buyer.id}, -25, now()), (${straddling}, ${buyer.id}, 25, now())
        RETURNING id::text`;
      expect(ids.map((row) => Number(row.id))).toEqual([edge - 1, edge]);
      // A later transaction commits first, so the second range has something to read.
      const later = randomUUID();
      await t.db.sql`INSERT INTO ledger_transactions (id, type, created_at) VALUES (${later}, 'deposit', now())`;
      await t.db.sql`
        INSERT INTO ledger_entries (transaction_id, wallet_id, amount, created_at)
        VALUES (${later}, ${buyer.id}, -40, now()), (${later}, ${buyer.id}, 40, now())`;

      // The straddling transaction commits once the run has read the first range.
      const repository = t.app.get(ReconciliationRepository);
      const checkEntryRange = repository.checkEntryRange.bind(repository);
      const ranges: number[] = [];
      jest.spyOn(repository, 'checkEntryRange').mockImplementation(async (params) => {
        const range = await checkEntryRange(params);
        ranges.push(params.fromId);
        if (ranges.length === 1) await pending`COMMIT`;
        return range;
      });
      const run = await runReconciliation(t);
      expect(ranges).toEqual([first!.id, edge]);
      expect(run.drifts).toEqual([]);
      expect(run.driftCount).toBe(0);
    } finally {
      jest.restoreAllMocks();
      pending.release();
    }
    await expectBooksBalanced(t.db.sql);
    expect((await runReconciliation(t)).driftCount).toBe(0);
  });
});

describe('reconciliation across two instances (e2e)', () => {
  let first: TestApp;
  let second: TestApp;

  beforeEach(async () => {
    first = await startTestApp();
    second = await startTestApp({ database: first.db, keyPrefix: first.keyPrefix });
    await trade(first);
  });
  afterEach(async () => {
    await second.close();
    await first.close();
  });

  /** Workers register the schedule in the background after start. */
  async function registeredSchedule(): Promise<Queue> {
    const queue = first.app.get<Queue>(getQueueToken(RECONCILIATION_QUEUE));
    for (let attempt = 0; attempt < 50 && (await queue.getJobSchedulers()).length === 0; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    return queue;
  }

  it('keeps one schedule whatever the number of instances', async () => {
    const queue = await registeredSchedule();
    const schedulers = await queue.getJobSchedulers();
    expect(schedulers).toHaveLength(1);
    expect(schedulers[0]!.every).toBe(first.config.reconciliation.everyMs);
  });

  it('restores a schedule Redis lost, and leaves an existing one as it was', async () => {
    const queue = await registeredSchedule();
    const service = first.app.get(ReconciliationService);
    const [scheduler] = await queue.getJobSchedulers();
    await service.restoreScheduleIfLost();
    expect((await queue.getJobSchedulers())[0]!.next).toBe(scheduler!.next);

    await queue.removeJobScheduler(scheduler!.key);
    expect(await queue.getJobSchedulers()).toHaveLength(0);
    await service.restoreScheduleIfLost();
    const restored = await queue.getJobSchedulers();
    expect(restored).toHaveLength(1);
    expect(restored[0]!.every).toBe(first.config.reconciliation.everyMs);
  });

  it('two instances asked at once queue one run', async () => {
    const runsBefore = await first.db.sql`SELECT count(*)::int AS n FROM reconciliation_runs`;
    const [a, b] = await Promise.all([
      first.api.post('/admin/reconciliations', { userId: ADMIN_USER_ID }),
      second.api.post('/admin/reconciliations', { userId: ADMIN_USER_ID }),
    ]);
    expect([a.status, b.status]).toEqual([202, 202]);
    expect(a.body.runId).toBe(b.body.runId);
    const run = await waitForRun(first, a.body.runId);
    expect(run.status).toBe('completed');
    const runsAfter = await first.db.sql`SELECT count(*)::int AS n FROM reconciliation_runs`;
    expect(runsAfter[0]!.n).toBe(runsBefore[0]!.n + 1);
  });

  it('purchases committing during a run cause no false drift', async () => {
    const buyer = await createWallet(second.api, 1_000_000);
    const author = await createWallet(second.api);
    const [run, ...purchases] = await Promise.all([
      runReconciliation(first),
      ...Array.from({ length: 40 }, (_, index) => purchase(second.api, buyer, author, 101 + index)),
    ]);
    expect(purchases.every((response) => response.status === 201)).toBe(true);
    expect(run).toMatchObject({ status: 'completed', driftCount: 0 });
    await expectBooksBalanced(first.db.sql);
  });

  it('a run does not start while another holds the run lock, on any instance', async () => {
    const lock = await first.db.sql.reserve();
    try {
      await lock`SELECT pg_advisory_lock(${RUN_LOCK_KEY})`;
      const results = await Promise.all([
        first.app.get(ReconciliationService).runScheduled(),
        second.app.get(ReconciliationService).runScheduled(),
      ]);
      expect(results).toEqual([{ outcome: 'skipped' }, { outcome: 'skipped' }]);
    } finally {
      await lock`SELECT pg_advisory_unlock(${RUN_LOCK_KEY})`;
      lock.release();
    }
    const runsBefore = await first.db.sql`SELECT count(*)::int AS n FROM reconciliation_runs`;
    const results = await Promise.all([
      first.app.get(ReconciliationService).runScheduled(),
      second.app.get(ReconciliationService).runScheduled(),
    ]);
    const completed = results.filter((result) => result.outcome === 'completed');
    expect(completed.length).toBeGreaterThanOrEqual(1);
    const runsAfter = await first.db.sql`SELECT count(*)::int AS n FROM reconciliation_runs`;
    expect(runsAfter[0]!.n).toBe(runsBefore[0]!.n + completed.length);
  });
});

describe('reconciliation of refunds and debt (e2e)', () => {
  let t: TestApp;
  let buyer: TestWallet;
  let author: TestWallet;
  let refundId: string;

  // Refunds of every kind: partial and full, one the author cannot cover (debt), and debt repaid
  // by a deposit and by a royalty; the platform buys an item and has it refunded too.
  beforeEach(async () => {
    t = await startTestApp();
    buyer = await createWallet(t.api, 50_000);
    author = await createWallet(t.api);
    const sales = [];
    for (const price of [99, 1_000, 333]) sales.push((await purchase(t.api, buyer, author, price)).body.id as string);
    const refundOf = async (purchaseId: string, body: object) => {
      const response = await t.api.post(`/purchases/${purchaseId}/refunds`, { userId: ADMIN_USER_ID, idempotencyKey: randomUUID(), body });
      expect(response.status).toBe(201);
      return response.body.id as string;
    };
    await refundOf(sales[0]!, {});
    await refundOf(sales[1]!, { amount: 250 });
    const balance = (await t.api.get(`/wallets/${author.id}`, { userId: author.userId })).body.balance as number;
    const withdrawal = await t.api.post(`/wallets/${author.id}/withdrawals`, {
      userId: author.userId,
      idempotencyKey: randomUUID(),
      body: { amount: balance },
    });
    expect(withdrawal.status).toBe(201);
    refundId = await refundOf(sales[1]!, {});
    await deposit(t.api, author, 100);
    await purchase(t.api, buyer, author, 500);
    const platform: TestWallet = { id: (await t.api.post('/wallets', { userId: PLATFORM_USER_ID })).body.id, userId: PLATFORM_USER_ID };
    await deposit(t.api, platform, 1_000);
    await refundOf((await purchase(t.api, platform, author, 77)).body.id as string, { amount: 40 });
    const [debts] = await t.db.sql<{ debt: string }[]>`SELECT debt::text FROM wallets WHERE id = ${author.id}`;
    expect(Number(debts!.debt)).toBeGreaterThan(0);
    await expectBooksBalanced(t.db.sql);
  });
  afterEach(async () => {
    await t.close();
  });

  it('a clean run over refunds, debt and repayments finds nothing and writes no row', async () => {
    const before = await rowVersions(t);
    const run = await runReconciliation(t);
    expect(run).toMatchObject({ status: 'completed', driftCount: 0, correctedCount: 0, drifts: [] });
    expect(run.checked!.refunds).toBe(4);
    expect(await rowVersions(t)).toEqual(before);
  });

  it('repairs refund figures in the totals and rollups, and reports a wallet debt, a carry and a refund posting', async () => {
    const [slot] = await t.db.sql`SELECT slot FROM running_totals ORDER BY slot LIMIT 1`;
    await t.db.sql`UPDATE running_totals SET refunded = refunded + 3 WHERE slot = ${slot!.slot}`;
    const [bucket] = await t.db.sql`SELECT bucket_start, slot FROM hourly_rollups ORDER BY bucket_start, slot LIMIT 1`;
    await t.db.sql`
      UPDATE hourly_rollups SET royalties_refunded = royalties_refunded + 13
       WHERE bucket_start = ${bucket!.bucket_start} AND slot = ${bucket!.slot}`;
    await t.db.sql`UPDATE author_hourly_rollups SET refunded_volume = refunded_volume - 17 WHERE author_wallet_id = ${author.id}`;
    await t.db.sql`UPDATE wallets SET debt = debt + 5 WHERE id = ${author.id}`;
    // A receivables posting slipped into a refund: its legs and its balance break.
    await t.db.sql`
      INSERT INTO ledger_entries (transaction_id, system_account, amount, created_at)
      VALUES (${refundId}, 'receivables', 2, now())`;

    const run = await runReconciliation(t);
    expect(checksOf(run)).toEqual(
      ['author_hourly_rollups', 'hourly_rollups', 'ledger_sum', 'refund_legs', 'running_totals', 'transaction_balance', 'wallet_debts'].sort(),
    );
    const byCheck = Object.fromEntries(run.drifts.map((drift) => [drift.check, drift]));
    expect(byCheck.running_totals!.before.refunded - byCheck.running_totals!.expected.refunded).toBe(3);
    expect(byCheck.hourly_rollups!.before.royaltiesRefunded - byCheck.hourly_rollups!.expected.royaltiesRefunded).toBe(13);
    expect(byCheck.author_hourly_rollups!.expected.refundedVolume - byCheck.author_hourly_rollups!.before.refundedVolume).toBe(17);
    expect(byCheck.wallet_debts).toMatchObject({ key: { walletId: author.id }, corrected: false });
    expect(byCheck.wallet_debts!.before.debt - byCheck.wallet_debts!.expected.debt).toBe(5);
    expect(byCheck.refund_legs).toMatchObject({ key: { refundId }, corrected: false });
    expect(byCheck.refund_legs!.before.receivables - byCheck.refund_legs!.expected.receivables).toBe(2);
    expect(run.correctedCount).toBe(3);

    const again = await runReconciliation(t);
    expect(checksOf(again)).toEqual(['ledger_sum', 'refund_legs', 'transaction_balance', 'wallet_debts'].sort());
  });

  it('finds a carry that no longer matches the sales net of refunds', async () => {
    await t.db.sql`UPDATE wallets SET fractional_balance = (fractional_balance + 1) % 100 WHERE id = ${author.id}`;
    const run = await runReconciliation(t);
    expect(checksOf(run)).toEqual(['wallet_carries']);
    expect(run.drifts[0]).toMatchObject({ key: { walletId: author.id }, corrected: false });
  });
});

/** A run stored as the scheduler stores it, so that the next incremental run starts from it. */
async function storedRun(t: TestApp, scope: 'full' | 'incremental'): Promise<RunOutcome> {
  const runs = t.app.get(ReconciliationRepository);
  const row = await runs.createScheduledRun({ fixBalances: false });
  // No margin: nothing commits concurrently here.
  const outcome = await t.app.get(ReconciliationService).reconcile({ fixBalances: false, scope, changeMarginMs: 0 });
  await runs.completeRun(row.id, outcome);
  return outcome;
}

async function debtOf(t: TestApp, wallet: TestWallet): Promise<number> {
  const [row] = await t.db.sql<{ debt: string }[]>`SELECT debt::text FROM wallets WHERE id = ${wallet.id}`;
  return Number(row!.debt);
}

describe('reconciliation of debt repaid by released money (e2e)', () => {
  let t: TestApp;
  let seller: TestWallet;
  let voidedId: string;
  let capturedId: string;
  let payoutId: string;

  // A wallet that buys and sells: it authorizes two holds while funded and asks for a payout of
  // the rest; then its own sale is refunded, which it cannot cover (1,400 cents of debt, ADR
  // 0017). Released cents are a credit, and repay that debt first (pending_release): a void
  // 300, the uncaptured 300 of a 500 hold captured for 200, then a failed payout the last 800.
  beforeEach(async () => {
    t = await startTestApp();
    seller = await createWallet(t.api, 10_000);
    const stranger = await createWallet(t.api, 10_000);
    const author = await createWallet(t.api);
    const sale = await purchase(t.api, stranger, seller, 2_000);
    expect(sale.status).toBe(201);
    const authorize = async (itemPrice: number) => {
      const response = await t.api.post('/purchases', {
        userId: seller.userId,
        idempotencyKey: randomUUID(),
        body: { buyerWalletId: seller.id, authorWalletId: author.id, itemPrice, capture: false },
      });
      expect(response.status).toBe(201);
      return response.body.id as string;
    };
    voidedId = await authorize(300);
    capturedId = await authorize(500);
    const balance = (await t.api.get(`/wallets/${seller.id}`, { userId: seller.userId })).body.balance as number;
    const payout = await t.api.post(`/wallets/${seller.id}/withdrawals`, {
      userId: seller.userId,
      idempotencyKey: randomUUID(),
      body: { amount: balance },
    });
    expect(payout.status).toBe(201);
    payoutId = payout.body.id;
    expect((await refund(t.api, ADMIN_USER_ID, sale.body.id)).status).toBe(201);
    expect(await debtOf(t, seller)).toBe(1_400);
  });
  afterEach(async () => {
    await t.close();
  });

  const releases: [string, () => Promise<{ status: number }>, number][] = [
    ['a void', () => t.api.post(`/purchases/${voidedId}/void`, { userId: seller.userId }), 1_100],
    ['a capture', () => t.api.post(`/purchases/${capturedId}/capture`, { userId: seller.userId, body: { amount: 200 } }), 800],
    ['a failed payout', () => t.api.post(`/withdrawals/${payoutId}/fail`, { userId: ADMIN_USER_ID, body: { reason: 'account_closed' } }), 0],
  ];

  it('a full run after each release finds nothing', async () => {
    for (const [, release, debtAfter] of releases) {
      expect((await release()).status).toBe(200);
      expect(await debtOf(t, seller)).toBe(debtAfter);
      const run = await runReconciliation(t);
      expect(run).toMatchObject({ status: 'completed', drifts: [], driftCount: 0 });
    }
    await expectBooksBalanced(t.db.sql);
  });

  it('incremental runs after each release find nothing, from checkpoints taken before and after', async () => {
    const [voided, captured, failed] = releases;
    // The void before a full run: the wallet's checkpoint is rebuilt from its whole ledger.
    expect((await voided![1]()).status).toBe(200);
    expect(await storedRun(t, 'full')).toMatchObject({ drifts: [], driftCount: 0 });
    // The capture and the failure after it: each run reads the wallet from its checkpoint.
    for (const [, release, debtAfter] of [captured!, failed!]) {
      expect((await release()).status).toBe(200);
      expect(await debtOf(t, seller)).toBe(debtAfter);
      const run = await storedRun(t, 'incremental');
      expect(run.checked.wallets).toBeGreaterThanOrEqual(1);
      expect(run.drifts).toEqual([]);
    }
    // A wallet in debt still finds a wallet debt that nothing explains.
    await t.db.sql`UPDATE wallets SET debt = debt + 3, balance = 0 WHERE id = ${seller.id}`;
    await deposit(t.api, seller, 1);
    const drifted = await storedRun(t, 'incremental');
    expect(drifted.drifts.map((drift) => [drift.check, drift.key.walletId])).toEqual(
      expect.arrayContaining([['wallet_debts', seller.id]]),
    );
  });
});

describe('reconciliation of split purchases (e2e)', () => {
  let t: TestApp;
  let buyer: TestWallet;
  let payees: TestWallet[];
  const itemId = 'book/split-reconciliation';

  const buy = async (itemPrice: number) => {
    const response = await t.api.post('/purchases', {
      userId: buyer.userId,
      idempotencyKey: randomUUID(),
      body: { buyerWalletId: buyer.id, itemId, itemPrice },
    });
    expect(response.status).toBe(201);
    return response.body.id as string;
  };

  /** Split sales with carries, partial refunds, and a payee's debt repaid by its next part. */
  const trade = async () => {
    const sales = [];
    for (const price of [333, 1_001, 77, 2_500]) sales.push(await buy(price));
    expect((await refund(t.api, ADMIN_USER_ID, sales[0]!, { amount: 111 })).status).toBe(201);
    const second = payees[1]!;
    const balance = (await t.api.get(`/wallets/${second.id}`, { userId: second.userId })).body.balance as number;
    if (balance > 0) {
      const payout = await t.api.post(`/wallets/${second.id}/withdrawals`, {
        userId: second.userId,
        idempotencyKey: randomUUID(),
        body: { amount: balance },
      });
      expect(payout.status).toBe(201);
    }
    expect((await refund(t.api, ADMIN_USER_ID, sales[3]!)).status).toBe(201);
    expect(await debtOf(t, second)).toBeGreaterThan(0);
    await buy(999);
  };

  const start = async (env: Record<string, string> = {}) => {
    t = await startTestApp({ env });
    buyer = await createWallet(t.api, 100_000);
    payees = [await createWallet(t.api), await createWallet(t.api), await createWallet(t.api)];
    const terms = await t.api.request('PUT', `/royalty-terms/${encodeURIComponent(itemId)}`, {
      userId: ADMIN_USER_ID,
      body: { royaltyPercent: 70, payees: [{ walletId: payees[0]!.id, share: 2_500 }, { walletId: payees[1]!.id, share: 4_500 }, { walletId: payees[2]!.id, share: 3_000 }] },
    });
    expect(terms.status).toBe(201);
  };
  afterEach(async () => {
    await t.close();
  });

  it('an incremental run reads each payee\'s own part, from its checkpoint or from its first posting', async () => {
    await start();
    await trade();
    expect(await storedRun(t, 'full')).toMatchObject({ drifts: [], driftCount: 0 });
    // After the clean run: the payees are read from the checkpoints the full run rebuilt.
    await trade();
    const incremental = await storedRun(t, 'incremental');
    expect(incremental.checked.wallets).toBeGreaterThanOrEqual(4);
    expect(incremental.drifts).toEqual([]);
    // And from their first posting: no checkpoints at all.
    await t.db.sql`DELETE FROM wallet_ledger_checkpoints`;
    await trade();
    expect((await storedRun(t, 'incremental')).drifts).toEqual([]);
    expect((await storedRun(t, 'full')).drifts).toEqual([]);
  });

  it('with RECONCILE_FIX_BALANCES, a drifted balance beside split payees leaves their carries as they are', async () => {
    await start({ RECONCILE_FIX_BALANCES: 'true' });
    await trade();
    const carries = async () =>
      (await t.db.sql<{ id: string; fractional_balance: number }[]>`
        SELECT id, fractional_balance FROM wallets WHERE id IN ${t.db.sql(payees.map((payee) => payee.id))} ORDER BY id`);
    const before = await carries();
    expect(before.some((row) => row.fractional_balance > 0)).toBe(true);
    await t.db.sql`UPDATE wallets SET balance = balance + 5 WHERE id = ${buyer.id}`;
    const run = await runReconciliation(t);
    expect(run.drifts.map((drift) => [drift.check, drift.key.walletId, drift.corrected])).toEqual([['wallet_balances', buyer.id, true]]);
    expect(await carries()).toEqual(before);
    expect(await runReconciliation(t)).toMatchObject({ drifts: [], driftCount: 0 });
  });
});

describe('reconciliation of the platform\'s debt from split sales (e2e)', () => {
  let t: TestApp;
  let buyer: TestWallet;
  let platform: TestWallet;
  const itemId = 'book/all-to-payees';

  const buyOneCent = async () => {
    const response = await t.api.post('/purchases', {
      userId: buyer.userId,
      idempotencyKey: randomUUID(),
      body: { buyerWalletId: buyer.id, itemId, itemPrice: 1 },
    });
    expect(response.status).toBe(201);
    return response.body as { id: string; authorAmount: number; platformAmount: number };
  };

  // Two payees share 100% of a 1-cent item: each sale adds 50 centi-cents to each payee, so every
  // second sale sweeps a cent to each, 2 cents for a 1-cent price (platformAmount -1, ADR 0045).
  // With its balance withdrawn the platform cannot cover that cent: it becomes its debt.
  beforeEach(async () => {
    t = await startTestApp();
    buyer = await createWallet(t.api, 1_000);
    const payees = [await createWallet(t.api), await createWallet(t.api)];
    platform = { id: (await t.api.post('/wallets', { userId: PLATFORM_USER_ID })).body.id, userId: PLATFORM_USER_ID };
    const terms = await t.api.request('PUT', `/royalty-terms/${encodeURIComponent(itemId)}`, {
      userId: ADMIN_USER_ID,
      body: { royaltyPercent: 100, payees: payees.map((payee) => ({ walletId: payee.id, share: 5_000 })) },
    });
    expect(terms.status).toBe(201);
    expect(await buyOneCent()).toMatchObject({ authorAmount: 0, platformAmount: 1 });
    const payout = await t.api.post(`/wallets/${platform.id}/withdrawals`, {
      userId: PLATFORM_USER_ID,
      idempotencyKey: randomUUID(),
      body: { amount: 1 },
    });
    expect(payout.status).toBe(201);
  });
  afterEach(async () => {
    await t.close();
  });

  it('full and incremental runs find nothing while the debt is made and repaid, and still find a debt nothing explains', async () => {
    expect(await storedRun(t, 'full')).toMatchObject({ drifts: [], driftCount: 0 });
    expect(await buyOneCent()).toMatchObject({ authorAmount: 2, platformAmount: -1 });
    expect(await debtOf(t, platform)).toBe(1);
    await expectBooksBalanced(t.db.sql);
    expect((await storedRun(t, 'incremental')).drifts).toEqual([]);
    expect((await storedRun(t, 'full')).drifts).toEqual([]);
    expect(await buyOneCent()).toMatchObject({ authorAmount: 0, platformAmount: 1 });
    expect(await debtOf(t, platform)).toBe(0);
    expect((await storedRun(t, 'incremental')).drifts).toEqual([]);
    expect(await storedRun(t, 'full')).toMatchObject({ drifts: [], driftCount: 0 });
    await t.db.sql`UPDATE wallets SET debt = debt + 1 WHERE id = ${platform.id}`;
    expect((await storedRun(t, 'full')).drifts.map((drift) => [drift.check, drift.key.walletId])).toEqual([['wallet_debts', platform.id]]);
  });

  it('a split refund that credits the platform repays its debt, and both runs find nothing', async () => {
    expect(await storedRun(t, 'full')).toMatchObject({ drifts: [], driftCount: 0 });
    const sale = await buyOneCent();
    expect(sale).toMatchObject({ authorAmount: 2, platformAmount: -1 });
    expect(await debtOf(t, platform)).toBe(1);
    // Each payee gives back 50 centi-cents, a whole cent each: the platform gets the cent.
    const refunded = await refund(t.api, ADMIN_USER_ID, sale.id);
    expect(refunded.status).toBe(201);
    expect(refunded.body).toMatchObject({ authorAmount: 2, platformAmount: -1 });
    expect(await debtOf(t, platform)).toBe(0);
    const [row] = await t.db.sql<{ balance: string }[]>`SELECT balance::text FROM wallet_view(${platform.id}::uuid)`;
    expect(Number(row!.balance)).toBe(0);
    await expectBooksBalanced(t.db.sql);
    expect((await storedRun(t, 'incremental')).drifts).toEqual([]);
    expect(await storedRun(t, 'full')).toMatchObject({ drifts: [], driftCount: 0 });
  });
});
