import type { IncrementalReconciliationRepository } from './reconciliation-incremental.repository';
import type { RunScope } from './reconciliation-incremental';
import type { ReconciliationRepository } from './reconciliation.repository';

/** What a reconciliation run compares; each drift names the check that found it. */
export const CHECK_NAMES = [
  'running_totals',
  'hourly_rollups',
  'author_hourly_rollups',
  'author_daily_rollups',
  'item_author_hourly_rollups',
  'wallet_balances',
  'wallet_carries',
  'wallet_debts',
  'ledger_sum',
  'transaction_balance',
  'purchase_legs',
  'refund_legs',
  'orphan_entries',
  'pending_payouts',
  'pending_holds',
  'position_snapshots',
] as const;

export type CheckName = (typeof CHECK_NAMES)[number];

/** Figures keyed by name (cents, counts, centi-cents), as kept and as recomputed from the ledger. */
export type Figures = Record<string, number>;

export interface Drift {
  check: CheckName;
  /** Which row or group drifted, e.g. `{ walletId }` or `{ bucketStart }`. */
  key: Record<string, string>;
  /** What the service kept. */
  before: Figures;
  /** What the ledger says it should be. */
  expected: Figures;
  /** Whether the run wrote the expected values back. */
  corrected: boolean;
}

/** A drift as its check describes it; the runner adds whether it was corrected. */
export type DriftDetail = Omit<Drift, 'corrected'>;

/** How much each check looked at: the proof that a clean run was not an empty one. */
export const CHECKED_COUNTERS = [
  'runningTotals',
  'hourlyBuckets',
  'authorHourlyBuckets',
  'authorDailyBuckets',
  'itemAuthorHourlyBuckets',
  'rollupWindows',
  'wallets',
  'ledgerEntries',
  'purchases',
  'refunds',
  'pendingPayouts',
  'pendingHolds',
  'positionSnapshots',
] as const;

export type CheckedCounter = (typeof CHECKED_COUNTERS)[number];
export type CheckedCounts = Record<CheckedCounter, number>;

/** Every run reports every figure, zero included. */
export const NOTHING_CHECKED: Readonly<CheckedCounts> = {
  runningTotals: 0,
  hourlyBuckets: 0,
  authorHourlyBuckets: 0,
  authorDailyBuckets: 0,
  itemAuthorHourlyBuckets: 0,
  rollupWindows: 0,
  wallets: 0,
  ledgerEntries: 0,
  purchases: 0,
  refunds: 0,
  pendingPayouts: 0,
  pendingHolds: 0,
  positionSnapshots: 0,
};

export const RUN_STATUSES = ['queued', 'running', 'completed', 'failed'] as const;
export type RunStatus = (typeof RUN_STATUSES)[number];
export const RUN_TRIGGERS = ['schedule', 'manual'] as const;
export type RunTrigger = (typeof RUN_TRIGGERS)[number];

export interface RunRow {
  id: string;
  trigger: RunTrigger;
  requestedBy: string | null;
  status: RunStatus;
  fixBalances: boolean;
  /** As stored: the figures of the run's time (later versions may add some). */
  checked: Record<string, number> | null;
  drifts: Drift[];
  driftCount: number;
  correctedCount: number;
  error: string | null;
  createdAt: Date;
  startedAt: Date | null;
  finishedAt: Date | null;
}

export interface RunOutcome {
  checked: CheckedCounts;
  /** At most DRIFT_DETAILS_MAX; `driftCount` is exact. */
  drifts: Drift[];
  driftCount: number;
  correctedCount: number;
  /** Drift counts by check, exact. */
  driftsByCheck: Partial<Record<CheckName, number>>;
}

/** What a check reports to the run after each of its statements. */
export interface CheckStep<Row> {
  /** Added to the run's `checked` figures. */
  checked: Partial<CheckedCounts>;
  /** Exact drift counts by check over everything the statement compared. */
  found: Partial<Record<CheckName, number>>;
  /** Of `found`, how many the statement (or its repair) wrote back. */
  corrected: Partial<Record<CheckName, number>>;
  /** The first drifted rows in key order, each with whether it was written back. */
  drifts: readonly { row: Row; corrected: boolean }[];
}

/** What every check is given: where its statements live, and the run's options. */
export interface CheckContext {
  repository: ReconciliationRepository;
  /** RECONCILE_FIX_BALANCES: whether wallet balances and carries are rewritten (ADR 0025). */
  fixBalances: boolean;
  platformAccountId: string;
  /** Everything, or what changed plus the sweep's due slice (ADR 0028); full when absent. */
  scope?: RunScope;
  /** The incremental statements and state; needed by an incremental scope only. */
  incremental?: IncrementalReconciliationRepository;
}

/**
 * One check, declared once (ADR 0026): what it reads and how it repairs (`run`, one bounded
 * statement at a time, each in the repository), and how a drifted row is logged (`describe`).
 * The runner (reconciliation.runner.ts) does the rest for every check alike: the `checked`
 * figures, the exact counts by check, the bounded details, the metrics and the log line.
 */
export interface ReconciliationCheck<Row, Context = CheckContext> {
  /**
   * The checks its drifts count under, in the order they are counted: usually one; several
   * when one statement serves them (a wallet's balance and carry, and orphan entries, come from
   * one pass over the chunk's ledger entries).
   */
  readonly names: readonly CheckName[];
  /** Walks its part of the books, calling `report` after every statement. */
  run(context: Context, report: (step: CheckStep<Row>) => void): Promise<void>;
  /** How one drifted row reads in the run's details. */
  describe(row: Row): DriftDetail;
}
