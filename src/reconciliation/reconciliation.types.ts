/** What a reconciliation run compares; each drift names the check that found it. */
export type ReconciliationCheck =
  | 'running_totals'
  | 'hourly_rollups'
  | 'author_hourly_rollups'
  | 'author_daily_rollups'
  | 'wallet_balances'
  | 'wallet_carries'
  | 'ledger_sum'
  | 'transaction_balance'
  | 'purchase_legs'
  | 'orphan_entries';

export const RECONCILIATION_CHECKS: readonly ReconciliationCheck[] = [
  'running_totals',
  'hourly_rollups',
  'author_hourly_rollups',
  'author_daily_rollups',
  'wallet_balances',
  'wallet_carries',
  'ledger_sum',
  'transaction_balance',
  'purchase_legs',
  'orphan_entries',
];

/** Figures keyed by name (cents, counts, centi-cents), as kept and as recomputed from the ledger. */
export type Figures = Record<string, number>;

export interface Drift {
  check: ReconciliationCheck;
  /** Which row or group drifted, e.g. `{ walletId }` or `{ bucketStart }`. */
  key: Record<string, string>;
  /** What the service kept. */
  before: Figures;
  /** What the ledger says it should be. */
  expected: Figures;
  /** Whether the run wrote the expected values back. */
  corrected: boolean;
}

/** How much each check looked at: the proof that a clean run was not an empty one. */
export type CheckedCounts = Record<string, number>;

export type RunStatus = 'queued' | 'running' | 'completed' | 'failed';
export type RunTrigger = 'schedule' | 'manual';

export interface RunRow {
  id: string;
  trigger: RunTrigger;
  requestedBy: string | null;
  status: RunStatus;
  fixBalances: boolean;
  checked: CheckedCounts | null;
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
  driftsByCheck: Partial<Record<ReconciliationCheck, number>>;
}
