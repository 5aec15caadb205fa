import { IncrementalReconciliationRepository } from './reconciliation-incremental.repository';
import { positionSnapshots } from './position-snapshots.check';
import { dayAt, entryIdAt, IncrementalScope, uuidAt, uuidBefore, windowsOf } from './reconciliation-incremental';
import {
  AuthorBucketDrift,
  BucketDrift,
  ItemBucketDrift,
  ChunkKeys,
  LedgerSnapshot,
  PendingHoldsComparison,
  PendingPayoutsComparison,
  PurchaseLegsDrift,
  ReconciliationRepository,
  RefundLegsDrift,
  TotalsComparison,
  TotalsFigures,
  WalletChunk,
  WalletComparison,
  WindowRepair,
} from './reconciliation.repository';
import { CheckContext, CheckedCounts, CheckName, CheckStep, DriftDetail, ReconciliationCheck } from './reconciliation.types';

/**
 * Every reconciliation check, declared once (ADR 0026): what it reads and how it repairs (the
 * statements are in reconciliation.repository.ts, one bounded key range each), how its steps
 * are counted, and how a drifted row is logged. reconciliation.runner.ts runs them in the
 * order of RECONCILIATION_CHECKS and keeps the run's books the same way for all.
 */

const UUID_MAX = 'ffffffff-ffff-ffff-ffff-ffffffffffff';
/** Rollups are checked one window of whole hours at a time (one short statement each). */
const ROLLUP_WINDOW_MS = 24 * 3_600_000;
const WALLET_CHUNK_SIZE = 5_000;
/** Wallets locked and rewritten per statement when RECONCILE_FIX_BALANCES is on. */
const WALLET_FIX_BATCH_SIZE = 500;
const PURCHASE_CHUNK_SIZE = 10_000;
const REFUND_CHUNK_SIZE = 10_000;
/** Ledger entry ids per statement of the double-entry check (exported: tests put entries on an edge). */
export const ENTRY_RANGE_SIZE = 200_000;
/** Drifted rows read back per statement; more are counted but not detailed. */
const DETAIL_ROWS_PER_STATEMENT = 1_000;
/** Transactions remembered as already reported (one may straddle two entry ranges). */
const REPORTED_TRANSACTIONS_MAX = 10_000;

// ----- how checks walk the books -----------------------------------------------------------

/**
 * Each UTC day that has ledger entries, purchases or rollup rows, in order: one window per day,
 * so that the daily author rows compare against whole days, and empty stretches cost nothing.
 */
async function eachActiveDay(
  repository: ReconciliationRepository,
  visit: (window: { from: Date; to: Date }) => Promise<void>,
  bounds: { from?: Date; until?: Date } = {},
): Promise<void> {
  let cursor = bounds.from;
  for (;;) {
    const from = await repository.nextActiveDay(cursor);
    if (!from || (bounds.until && from >= bounds.until)) return;
    const window = { from, to: new Date(from.getTime() + ROLLUP_WINDOW_MS) };
    await visit(window);
    cursor = window.to;
  }
}

/** Consecutive chunks in id order, each after the last id of the one before, until one is short. */
async function eachIdChunk(
  chunkSize: number,
  visit: (after: string | undefined) => Promise<{ examined: number; lastId: string | undefined }>,
  start?: string,
): Promise<void> {
  let after = start;
  for (;;) {
    const chunk = await visit(after);
    if (chunk.examined < chunkSize || chunk.lastId === undefined) return;
    after = chunk.lastId;
  }
}

/** The run's incremental scope (ADR 0028), or undefined for a full run. */
function incrementalScope(context: CheckContext): IncrementalScope | undefined {
  return context.scope?.kind === 'incremental' ? context.scope : undefined;
}

function incrementalOf(context: CheckContext): IncrementalReconciliationRepository {
  if (!context.incremental) throw new Error('an incremental run needs the sweep repository');
  return context.incremental;
}

/**
 * The rollup windows a run checks. Full: every active day. Incremental: the hours (whole days for
 * the daily grain) from the change bound to now, then the days of the sweep's slice.
 */
async function eachWindowInScope(
  context: CheckContext,
  grain: 'hour' | 'day',
  visit: (window: { from: Date; to: Date }) => Promise<void>,
): Promise<void> {
  const scope = incrementalScope(context);
  if (!scope) return eachActiveDay(context.repository, visit);
  for (const window of windowsOf(grain, scope.changedSince, new Date(scope.now.getTime() + 1))) await visit(window);
  const from = dayAt(scope.slice.cycle, scope.slice.from);
  const until = dayAt(scope.slice.cycle, scope.slice.to);
  if (from && until && until > from) await eachActiveDay(context.repository, visit, { from, until });
}

/**
 * The id-ordered passes of a chunked check. Full: one over every row. Incremental: the rows made
 * since the change bound, then the sweep's slice of the uuid space.
 */
function idPassesInScope(context: CheckContext): { start?: string; keys?: ChunkKeys }[] {
  const scope = incrementalScope(context);
  if (!scope) return [{}];
  const passes: { start?: string; keys?: ChunkKeys }[] = [{ keys: { createdFrom: scope.changedSince } }];
  const upTo = uuidAt(scope.slice.to);
  if (upTo !== undefined && scope.slice.to > scope.slice.from) passes.push({ start: uuidAt(scope.slice.from), keys: { upTo } });
  return passes;
}

/**
 * A repair statement's step (rollups): it adds each drifted group's delta in the statement that
 * measured it, so its drifts count as corrected when it wrote every one of them.
 */
function repairStep<Row>(check: CheckName, checked: Partial<CheckedCounts>, repair: WindowRepair<Row>): CheckStep<Row> {
  const corrected = repair.repairedRows === repair.driftCount;
  return {
    checked,
    found: { [check]: repair.driftCount },
    corrected: { [check]: corrected ? repair.driftCount : 0 },
    drifts: repair.drifts.map((row) => ({ row, corrected })),
  };
}

const sameTotals = (a: TotalsFigures, b: TotalsFigures): boolean =>
  a.deposited === b.deposited &&
  a.withdrawn === b.withdrawn &&
  a.purchaseVolume === b.purchaseVolume &&
  a.royalties === b.royalties &&
  a.platformRevenue === b.platformRevenue &&
  a.purchaseCount === b.purchaseCount &&
  a.refunded === b.refunded &&
  a.royaltiesRefunded === b.royaltiesRefunded &&
  a.platformRevenueRefunded === b.platformRevenueRefunded &&
  a.refundCount === b.refundCount &&
  a.payoutsPaid === b.payoutsPaid &&
  a.payoutsFailed === b.payoutsFailed;

// ----- the checks --------------------------------------------------------------------------

/** All-time running totals against the ledger and the purchases; a drift is repaired in slot 0. */
export const runningTotals: ReconciliationCheck<TotalsComparison> = {
  names: ['running_totals'],
  async run(context, report) {
    const { repository } = context;
    // All-time sums read the whole ledger: an incremental run takes them once per sweep cycle,
    // in the run that completes it (ADR 0028).
    const scope = incrementalScope(context);
    if (scope && scope.slice.to < 1) return;
    const totals = await repository.repairRunningTotals();
    const corrected = totals.repairedRows > 0;
    const drifted = corrected || !sameTotals(totals.kept, totals.ledger);
    report({
      checked: { runningTotals: 1 },
      found: { running_totals: drifted ? 1 : 0 },
      corrected: { running_totals: drifted && corrected ? 1 : 0 },
      drifts: drifted ? [{ row: totals, corrected }] : [],
    });
  },
  describe: (totals) => ({ check: 'running_totals', key: {}, before: { ...totals.kept }, expected: { ...totals.ledger } }),
};

/** Hourly rollups, a day at a time, against the funding and payout entries and the purchases. */
export const hourlyRollups: ReconciliationCheck<BucketDrift> = {
  names: ['hourly_rollups'],
  run: (context, report) =>
    eachWindowInScope(context, 'hour', async (window) => {
      const repair = await context.repository.repairHourlyRollups(window, DETAIL_ROWS_PER_STATEMENT);
      report(repairStep('hourly_rollups', { hourlyBuckets: repair.groupsChecked, rollupWindows: 1 }, repair));
    }),
  describe: (drift) => ({
    check: 'hourly_rollups',
    key: { bucketStart: drift.bucketStart.toISOString() },
    before: { ...drift.kept },
    expected: { ...drift.ledger },
  }),
};

/** Per-author rollups of one grain, a day at a time, against the purchases. */
function authorRollups(
  grain: 'hour' | 'day',
  check: 'author_hourly_rollups' | 'author_daily_rollups',
  counter: 'authorHourlyBuckets' | 'authorDailyBuckets',
): ReconciliationCheck<AuthorBucketDrift> {
  return {
    names: [check],
    run: (context, report) =>
      eachWindowInScope(context, grain, async (window) => {
        const repair = await context.repository.repairAuthorRollups(grain, window, DETAIL_ROWS_PER_STATEMENT);
        report(repairStep(check, { [counter]: repair.groupsChecked }, repair));
      }),
    describe: (drift) => ({
      check,
      key: { authorWalletId: drift.authorWalletId, bucketStart: drift.bucketStart.toISOString() },
      before: { ...drift.kept },
      expected: { ...drift.ledger },
    }),
  };
}

export const authorHourlyRollups = authorRollups('hour', 'author_hourly_rollups', 'authorHourlyBuckets');
export const authorDailyRollups = authorRollups('day', 'author_daily_rollups', 'authorDailyBuckets');

/** Per-item rollups (ADR 0066), a day at a time, against the purchases that name an item. */
export const itemAuthorHourlyRollups: ReconciliationCheck<ItemBucketDrift> = {
  names: ['item_author_hourly_rollups'],
  run: (context, report) =>
    eachWindowInScope(context, 'hour', async (window) => {
      const repair = await context.repository.repairItemRollups(window, DETAIL_ROWS_PER_STATEMENT);
      report(repairStep('item_author_hourly_rollups', { itemAuthorHourlyBuckets: repair.groupsChecked }, repair));
    }),
  describe: (drift) => ({
    check: 'item_author_hourly_rollups',
    key: { itemId: drift.itemId, authorWalletId: drift.authorWalletId, bucketStart: drift.bucketStart.toISOString() },
    before: { ...drift.kept },
    expected: { ...drift.ledger },
  }),
};

type WalletDrift = { check: 'orphan_entries' | 'wallet_balances' | 'wallet_carries' | 'wallet_debts'; wallet: WalletComparison };

/**
 * Each wallet's balance (row plus slots) against its entries, its carry against its purchases
 * and refunds, its debt against the refunds it could not cover and the credits that repaid them
 * (ADR 0017), and entries that name no wallet, 5,000 wallet ids per statement. Balances and
 * carries are rewritten only with RECONCILE_FIX_BALANCES (ADR 0025); debts and orphan entries
 * are only reported.
 */
export const walletBooks: ReconciliationCheck<WalletDrift> = {
  names: ['orphan_entries', 'wallet_balances', 'wallet_carries', 'wallet_debts'],
  async run(context, report) {
    const { repository, fixBalances, platformAccountId } = context;
    const platformWalletId = await repository.platformWalletId(platformAccountId);
    const scope = incrementalScope(context);
    const fullThrough = context.scope?.kind === 'full' ? context.scope.checkpointThrough : undefined;
    const compareRange = (after: string | undefined, upTo: string | undefined) =>
      eachIdChunk(
        WALLET_CHUNK_SIZE,
        async (from) => {
          const chunk = await repository.compareWalletChunk({
            after: from,
            upTo,
            walletLimit: WALLET_CHUNK_SIZE,
            detailLimit: DETAIL_ROWS_PER_STATEMENT,
            platformWalletId,
          });
          const fixes =
            fixBalances && chunk.lastWalletId && chunk.balanceDriftCount + chunk.carryDriftCount > 0
              ? await fixWallets(repository, from, chunk.lastWalletId)
              : { balances: new Set<string>(), carries: new Set<string>() };
          report(walletStep(chunk, fixes));
          // Compared whole: these wallets' checkpoints are taken again from their whole ledger.
          const end = chunk.walletsChecked < WALLET_CHUNK_SIZE || !chunk.lastWalletId ? (upTo ?? UUID_MAX) : chunk.lastWalletId;
          const through = scope?.checkpointThrough ?? fullThrough;
          if (through && context.incremental) {
            await context.incremental.rebuildCheckpoints({ after: from, upTo: end, through, platformWalletId });
          }
          return { examined: chunk.walletsChecked, lastId: chunk.lastWalletId };
        },
        after,
      );
    if (!scope) return compareRange(undefined, undefined);

    // What changed: every wallet touched since the bound, from its checkpoint.
    await eachIdChunk(WALLET_CHUNK_SIZE, async (after) => {
      const chunk = await incrementalOf(context).compareRecentWallets({
        since: scope.changedSince,
        through: scope.checkpointThrough,
        after,
        walletLimit: WALLET_CHUNK_SIZE,
        detailLimit: DETAIL_ROWS_PER_STATEMENT,
        platformWalletId,
      });
      const fixes = fixBalances
        ? await fixEachWallet(repository, chunk.drifts)
        : { balances: new Set<string>(), carries: new Set<string>() };
      report(walletStep(chunk, fixes));
      return { examined: chunk.walletsChecked, lastId: chunk.lastWalletId };
    });
    // The sweep's slice of wallet ids, each compared with its whole ledger as in a full run.
    const upTo = uuidAt(scope.slice.to);
    if (upTo !== undefined && scope.slice.to > scope.slice.from) await compareRange(uuidAt(scope.slice.from), upTo);
  },
  describe({ check, wallet }): DriftDetail {
    const key = { walletId: wallet.walletId };
    switch (check) {
      case 'orphan_entries':
        return { check, key, before: { entries: wallet.orphanEntries, amount: wallet.ledgerBalance }, expected: { entries: 0, amount: 0 } };
      case 'wallet_balances':
        return { check, key, before: { balance: wallet.keptBalance ?? 0 }, expected: { balance: wallet.ledgerBalance } };
      case 'wallet_carries':
        return { check, key, before: { fractionalBalance: wallet.keptCarry ?? 0 }, expected: { fractionalBalance: wallet.ledgerCarry } };
      case 'wallet_debts':
        return { check, key, before: { debt: wallet.keptDebt ?? 0 }, expected: { debt: wallet.ledgerDebt } };
    }
  },
};

function walletStep(chunk: WalletChunk, fixes: { balances: Set<string>; carries: Set<string> }): CheckStep<WalletDrift> {
  const drifts: { row: WalletDrift; corrected: boolean }[] = [];
  for (const wallet of chunk.drifts) {
    if (wallet.orphan) {
      drifts.push({ row: { check: 'orphan_entries', wallet }, corrected: false });
      continue;
    }
    if (wallet.keptBalance !== wallet.ledgerBalance) {
      drifts.push({ row: { check: 'wallet_balances', wallet }, corrected: fixes.balances.has(wallet.walletId) });
    }
    if (wallet.keptCarry !== wallet.ledgerCarry) {
      drifts.push({ row: { check: 'wallet_carries', wallet }, corrected: fixes.carries.has(wallet.walletId) });
    }
    if (wallet.keptDebt !== wallet.ledgerDebt) {
      drifts.push({ row: { check: 'wallet_debts', wallet }, corrected: false });
    }
  }
  // Drifts beyond the detailed ones are counted, and so are their fixes.
  const correctedOf = (check: WalletDrift['check'], found: number, fixed: number): number => {
    const detailed = drifts.filter((drift) => drift.row.check === check);
    const detailedFixed = detailed.filter((drift) => drift.corrected).length;
    const undetailed = found - detailed.length;
    return detailedFixed + (undetailed > 0 ? Math.min(undetailed, Math.max(0, fixed - detailedFixed)) : 0);
  };
  return {
    checked: { wallets: chunk.walletsChecked },
    found: {
      orphan_entries: chunk.orphanCount,
      wallet_balances: chunk.balanceDriftCount,
      wallet_carries: chunk.carryDriftCount,
      wallet_debts: chunk.debtDriftCount,
    },
    corrected: {
      wallet_balances: correctedOf('wallet_balances', chunk.balanceDriftCount, fixes.balances.size),
      wallet_carries: correctedOf('wallet_carries', chunk.carryDriftCount, fixes.carries.size),
    },
    drifts,
  };
}

/** Rewrites the drifted balance and carry of each of these wallets, one statement each. */
async function fixEachWallet(
  repository: ReconciliationRepository,
  drifted: readonly WalletComparison[],
): Promise<{ balances: Set<string>; carries: Set<string> }> {
  const balances = new Set<string>();
  const carries = new Set<string>();
  for (const wallet of drifted) {
    if (wallet.orphan || (wallet.keptBalance === wallet.ledgerBalance && wallet.keptCarry === wallet.ledgerCarry)) continue;
    const batch = await repository.fixWalletBatch({ after: uuidBefore(wallet.walletId), upTo: wallet.walletId, walletLimit: 1 });
    for (const fixed of batch.fixed) {
      if (fixed.balance) balances.add(fixed.walletId);
      if (fixed.carry) carries.add(fixed.walletId);
    }
  }
  return { balances, carries };
}

/** Rewrites every drifted balance and carry of the wallets in (after, upTo], a batch at a time. */
async function fixWallets(
  repository: ReconciliationRepository,
  after: string | undefined,
  upTo: string,
): Promise<{ balances: Set<string>; carries: Set<string> }> {
  // At most WALLET_CHUNK_SIZE ids each: the range is one chunk.
  const balances = new Set<string>();
  const carries = new Set<string>();
  let cursor = after;
  for (;;) {
    const batch = await repository.fixWalletBatch({ after: cursor, upTo, walletLimit: WALLET_FIX_BATCH_SIZE });
    for (const wallet of batch.fixed) {
      if (wallet.balance) balances.add(wallet.walletId);
      if (wallet.carry) carries.add(wallet.walletId);
    }
    if (batch.walletsExamined < WALLET_FIX_BATCH_SIZE || !batch.lastWalletId) break;
    cursor = batch.lastWalletId;
  }
  return { balances, carries };
}

type EntryDrift =
  | { check: 'transaction_balance'; transactionId: string; sumCents: number }
  | { check: 'ledger_sum'; sumCents: bigint };

/**
 * Double entry: the ledger sums to zero and every transaction balances, read in one snapshot
 * (ADR 0025): with each range in its own transaction, one whose entries straddle a range edge
 * and commits between the two reads would add half its entries to the sum, a false alarm.
 * Ranges stop at the largest id the snapshot sees. Nothing here is rewritten.
 */
export const doubleEntry: ReconciliationCheck<EntryDrift> = {
  names: ['transaction_balance', 'ledger_sum'],
  async run(context, report) {
    const { repository } = context;
    const scope = incrementalScope(context);
    if (!scope) {
      return repository.withLedgerSnapshot(async (snapshot) => {
        const bounds = await repository.entryIdBounds(snapshot);
        if (!bounds) return;
        const sumCents = await checkEntryRanges(repository, snapshot, { fromId: bounds.min, toId: bounds.max + 1 }, report);
        if (sumCents !== 0n) {
          report({ checked: {}, found: { ledger_sum: 1 }, corrected: {}, drifts: [{ row: { check: 'ledger_sum', sumCents }, corrected: false }] });
        }
      });
    }
    // What changed: the transactions posted since the bound. The ledger's sum needs all of it:
    // full runs take it (every transaction balancing implies it).
    const recent = await incrementalOf(context).unbalancedRecentTransactions({
      since: scope.changedSince,
      detailLimit: DETAIL_ROWS_PER_STATEMENT,
    });
    report({
      checked: { ledgerEntries: recent.entries },
      found: { transaction_balance: recent.unbalancedCount },
      corrected: {},
      drifts: recent.unbalanced.map((transaction) => ({ row: { check: 'transaction_balance', ...transaction }, corrected: false })),
    });
    const fromId = entryIdAt(scope.slice.cycle, scope.slice.from);
    const toId = entryIdAt(scope.slice.cycle, scope.slice.to);
    if (fromId === undefined || toId === undefined || toId <= fromId) return;
    await repository.withLedgerSnapshot((snapshot) => checkEntryRanges(repository, snapshot, { fromId, toId }, report));
  },
  describe(drift): DriftDetail {
    return drift.check === 'ledger_sum'
      ? { check: 'ledger_sum', key: {}, before: { sum: Number(drift.sumCents) }, expected: { sum: 0 } }
      : { check: 'transaction_balance', key: { transactionId: drift.transactionId }, before: { sum: drift.sumCents }, expected: { sum: 0 } };
  },
};

/** Entry ids [fromId, toId) a range at a time in one snapshot: unbalanced transactions reported, the sum returned. */
async function checkEntryRanges(
  repository: ReconciliationRepository,
  snapshot: LedgerSnapshot,
  ids: { fromId: number; toId: number },
  report: (step: CheckStep<EntryDrift>) => void,
): Promise<bigint> {
      let sumCents = 0n;
      const reported = new Set<string>();
      for (let fromId = ids.fromId; fromId < ids.toId; fromId += ENTRY_RANGE_SIZE) {
        const range = await repository.checkEntryRange({
          snapshot,
          fromId,
          toId: Math.min(fromId + ENTRY_RANGE_SIZE, ids.toId),
          candidateLimit: DETAIL_ROWS_PER_STATEMENT,
        });
        sumCents += range.sumCents;
        // A transaction straddling the range edge looks unbalanced here; all its entries decide.
        const candidates = range.candidates.filter((id) => !reported.has(id));
        const unbalanced = await repository.unbalancedTransactions(snapshot, candidates);
        for (const transaction of unbalanced) {
          if (reported.size < REPORTED_TRANSACTIONS_MAX) reported.add(transaction.transactionId);
        }
        report({
          checked: { ledgerEntries: range.entries },
          found: { transaction_balance: unbalanced.length },
          corrected: {},
          drifts: unbalanced.map((transaction) => ({
            row: { check: 'transaction_balance', ...transaction },
            corrected: false,
          })),
        });
      }
      return sumCents;
}

/**
 * Each purchase's entries against its legs: the buyer -price, the author and the platform their
 * amounts, no zero leg, nothing else posted; 10,000 purchases per statement, only reported.
 */
export const purchaseLegs: ReconciliationCheck<PurchaseLegsDrift> = {
  names: ['purchase_legs'],
  async run(context, report) {
    const { repository, platformAccountId } = context;
    const platformWalletId = await repository.platformWalletId(platformAccountId);
    for (const pass of idPassesInScope(context)) {
    await eachIdChunk(PURCHASE_CHUNK_SIZE, async (after) => {
      const chunk = await repository.comparePurchaseChunk({
        after,
        keys: pass.keys,
        purchaseLimit: PURCHASE_CHUNK_SIZE,
        detailLimit: DETAIL_ROWS_PER_STATEMENT,
        platformWalletId,
      });
      report({
        checked: { purchases: chunk.purchasesChecked },
        found: { purchase_legs: chunk.driftCount },
        corrected: {},
        drifts: chunk.drifts.map((row) => ({ row, corrected: false })),
      });
      return { examined: chunk.purchasesChecked, lastId: chunk.lastPurchaseId };
    }, pass.start);
    }
  },
  describe: (drift) => ({
    check: 'purchase_legs',
    key: { purchaseId: drift.purchaseId },
    before: { ...drift.posted },
    expected: { ...drift.expected },
  }),
};

/**
 * Each refund's entries against its parts (ADR 0017): the buyer gets the amount less the debt it
 * repaid, the author and the platform give up their parts less what became debt, receivables take
 * the difference; and its purchase refunded no more than its price. 10,000 refunds per statement,
 * only reported.
 */
export const refundLegs: ReconciliationCheck<RefundLegsDrift> = {
  names: ['refund_legs'],
  async run(context, report) {
    const { repository, platformAccountId } = context;
    const platformWalletId = await repository.platformWalletId(platformAccountId);
    for (const pass of idPassesInScope(context)) {
    await eachIdChunk(REFUND_CHUNK_SIZE, async (after) => {
      const chunk = await repository.compareRefundChunk({
        after,
        keys: pass.keys,
        refundLimit: REFUND_CHUNK_SIZE,
        detailLimit: DETAIL_ROWS_PER_STATEMENT,
        platformWalletId,
      });
      report({
        checked: { refunds: chunk.refundsChecked },
        found: { refund_legs: chunk.driftCount },
        corrected: {},
        drifts: chunk.drifts.map((row) => ({ row, corrected: false })),
      });
      return { examined: chunk.refundsChecked, lastId: chunk.lastRefundId };
    }, pass.start);
    }
  },
  describe: (drift) => ({
    check: 'refund_legs',
    key: { refundId: drift.refundId, purchaseId: drift.purchaseId },
    before: { ...drift.posted, refunded: drift.refundedCents },
    expected: { ...drift.expected, refunded: Math.min(drift.refundedCents, drift.itemPriceCents) },
  }),
};

/**
 * The pending state against the ledger (ADR 0018): the withdrawals without an outcome add up to
 * the payouts_pending account, in one snapshot. Only reported: the ledger is not rewritten.
 */
export const pendingPayouts: ReconciliationCheck<PendingPayoutsComparison> = {
  names: ['pending_payouts'],
  async run(context, report) {
    // All-time sums over the ledger: an incremental run takes them in the run that completes
    // the sweep cycle, as the running totals (ADR 0028).
    const scope = incrementalScope(context);
    if (scope && scope.slice.to < 1) return;
    const { repository } = context;
    const pending = await repository.comparePendingPayouts();
    const drifted = pending.withdrawalsCents !== pending.accountCents;
    report({
      checked: { pendingPayouts: pending.withdrawals },
      found: { pending_payouts: drifted ? 1 : 0 },
      corrected: {},
      drifts: drifted ? [{ row: pending, corrected: false }] : [],
    });
  },
  describe: (pending) => ({
    check: 'pending_payouts',
    key: {},
    before: { payoutsPendingAccount: pending.accountCents },
    expected: { pendingWithdrawals: pending.withdrawalsCents },
  }),
};

/**
 * Purchase holds against the ledger (ADR 0018): the authorized holds, the wallets' held balances
 * and the holds account are one figure, read in one snapshot. Only reported.
 */
export const pendingHolds: ReconciliationCheck<PendingHoldsComparison> = {
  names: ['pending_holds'],
  async run(context, report) {
    // Sums over every wallet and the whole ledger: incremental runs take them in the run that
    // completes the sweep cycle, like the running totals (ADR 0028).
    const scope = incrementalScope(context);
    if (scope && scope.slice.to < 1) return;
    const { repository } = context;
    const held = await repository.comparePendingHolds();
    const drifted = held.heldBalancesCents !== held.holdsCents || held.accountCents !== held.holdsCents;
    report({
      checked: { pendingHolds: held.holds },
      found: { pending_holds: drifted ? 1 : 0 },
      corrected: {},
      drifts: drifted ? [{ row: held, corrected: false }] : [],
    });
  },
  describe: (held) => ({
    check: 'pending_holds',
    key: {},
    before: { heldBalances: held.heldBalancesCents, holdsAccount: held.accountCents },
    expected: { authorizedHolds: held.holdsCents },
  }),
};

/**
 * Every check, in the order a run takes them. Author hours before author days: an hourly repair
 * reaches the daily rows through the trigger, so the daily check only finds what was written to
 * the daily table directly.
 */
export const RECONCILIATION_CHECKS: readonly ReconciliationCheck<unknown>[] = [
  runningTotals,
  hourlyRollups,
  authorHourlyRollups,
  authorDailyRollups,
  itemAuthorHourlyRollups,
  walletBooks,
  doubleEntry,
  purchaseLegs,
  refundLegs,
  pendingPayouts,
  pendingHolds,
  positionSnapshots,
];
