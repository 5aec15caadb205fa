import { Injectable } from '@nestjs/common';
import { and, asc, desc, eq, gt, inArray, lt, sql as drizzleSql } from 'drizzle-orm';
import type { PendingQuery, Row } from 'postgres';
import { Database } from '../db/database';
import { longReadTransaction, LongReadOptions, ReadTransaction } from '../db/long-read-transaction';
import { reconciliationRuns, wallets } from '../db/schema';
import { firstRow, toDate, toSafeInteger } from '../db/sql-values';
import { CHECK_NAMES, Drift, RUN_STATUSES, RUN_TRIGGERS, RunOutcome, RunRow } from './reconciliation.types';

/**
 * Reconciliation reads the whole ledger, so its statements get a longer cut-off than the
 * service's default; each one still covers a bounded key range (see the batch sizes in
 * reconciliation.checks.ts).
 */
const RECONCILE_STATEMENT_TIMEOUT_MS = 300_000;
/** Session advisory lock held for a whole run, so that at most one run works at a time. */
const RUN_LOCK_KEY = 7_240_913_001;
/** Transaction advisory lock that serialises "is a run already queued?" with creating one. */
const ENQUEUE_LOCK_KEY = 7_240_913_002;
/** A queued or running run older than this is considered abandoned (its job was lost). */
const ACTIVE_RUN_STALE_SECONDS = 3_600;
const UUID_MAX = 'ffffffff-ffff-ffff-ffff-ffffffffffff';
const UUID_MIN = '00000000-0000-0000-0000-000000000000';
const RECONCILE_STATEMENTS: LongReadOptions = { statementTimeoutMs: RECONCILE_STATEMENT_TIMEOUT_MS, isolation: 'per-statement' };
const LEDGER_SNAPSHOT: LongReadOptions = { statementTimeoutMs: RECONCILE_STATEMENT_TIMEOUT_MS, isolation: 'snapshot' };

/** Which rows a chunk may take beyond `after`: a sweep's slice, or what changed (ADR 0028). */
export interface ChunkKeys {
  upTo?: string;
  createdFrom?: Date;
}

/** The one transaction the double-entry checks read through (`withLedgerSnapshot`). */
export class LedgerSnapshot {
  constructor(readonly sql: ReadTransaction) {}
}

export interface TotalsFigures {
  deposited: number;
  withdrawn: number;
  purchaseVolume: number;
  royalties: number;
  platformRevenue: number;
  purchaseCount: number;
  refunded: number;
  royaltiesRefunded: number;
  platformRevenueRefunded: number;
  refundCount: number;
  payoutsPaid: number;
  payoutsFailed: number;
}

/** Purchase holds (ADR 0018): the authorized holds, the wallets' held balances and the holds account. */
export interface PendingHoldsComparison {
  holds: number;
  holdsCents: number;
  heldBalancesCents: number;
  accountCents: number;
}

/** Pending payouts (ADR 0018): the withdrawals without an outcome, and the account that holds them. */
export interface PendingPayoutsComparison {
  withdrawals: number;
  withdrawalsCents: number;
  accountCents: number;
}

export interface TotalsComparison {
  kept: TotalsFigures;
  ledger: TotalsFigures;
  repairedRows: number;
}

export interface BucketDrift {
  bucketStart: Date;
  kept: TotalsFigures;
  ledger: TotalsFigures;
}

export interface WindowRepair<T> {
  /** Drifted groups in the window, at most `detailLimit` of them. */
  drifts: T[];
  driftCount: number;
  repairedRows: number;
  groupsChecked: number;
}

export interface AuthorFigures {
  salesCount: number;
  grossVolume: number;
  royalty: number;
  refundedVolume: number;
  royaltyRefunded: number;
}

export interface AuthorBucketDrift {
  authorWalletId: string;
  bucketStart: Date;
  kept: AuthorFigures;
  ledger: AuthorFigures;
}

/** An item rollup row (ADR 0066): one payee's sales of one item in one UTC hour. */
export interface ItemBucketDrift extends AuthorBucketDrift {
  itemId: string;
}

export interface WalletComparison {
  walletId: string;
  /** No wallet row carries this id: the ledger rows are orphans. */
  orphan: boolean;
  keptBalance: number | null;
  ledgerBalance: number;
  orphanEntries: number;
  keptCarry: number | null;
  ledgerCarry: number;
  keptDebt: number | null;
  ledgerDebt: number;
}

/** Where a position snapshot check resumes (ADR 0068): the last snapshot seen and its wallet's expected figures there. */
export interface PositionCursor {
  walletId: string;
  /** ISO instant, or '-infinity' / 'infinity' at a wallet's edge. */
  asOf: string;
  balanceCents: number;
  carryCentiCents: number;
  postings: number;
}

/** A position snapshot as kept and as its wallet's ledger gives it. */
export interface PositionSnapshotCheck {
  walletId: string;
  asOf: Date;
  kept: { balance: number; fractionalBalance: number; postings: number };
  ledger: { balance: number; fractionalBalance: number; postings: number };
  /** Deleted because it differed. */
  removed: boolean;
}

interface PositionSnapshotColumns {
  wallet_id: string;
  as_of: Date | string;
  balance_cents: string;
  carry_centi_cents: string;
  postings: string;
  expected_balance: string;
  expected_carry: string;
  expected_postings: string;
  removed: boolean;
}

export interface WalletChunk {
  walletsChecked: number;
  lastWalletId: string | undefined;
  /** Exact counts over the whole chunk; `drifts` details at most `detailLimit` of them. */
  balanceDriftCount: number;
  carryDriftCount: number;
  debtDriftCount: number;
  orphanCount: number;
  /** Only wallets (and orphan ids) that disagree with the ledger, the first `detailLimit` by id. */
  drifts: WalletComparison[];
}

export interface WalletFixBatch {
  walletsExamined: number;
  lastWalletId: string | undefined;
  /** Wallets written, and which of their figures were set to the ledger's. */
  fixed: { walletId: string; balance: boolean; carry: boolean }[];
}

export interface EntryRangeCheck {
  entries: number;
  sumCents: bigint;
  /** Transactions not balanced within the range (one straddling the range edge included). */
  candidates: string[];
}

export interface PurchaseLegFigures {
  /** Sums per role's wallet: where two roles name one wallet, both show that wallet's sum. */
  buyer: number;
  author: number;
  platform: number;
  /** Posted to wallets or system accounts that no leg names. */
  other: number;
  legs: number;
}

export interface PurchaseLegsDrift {
  purchaseId: string;
  expected: PurchaseLegFigures;
  posted: PurchaseLegFigures;
}

/** A refund's postings by party, or its purchase refunded beyond the price (ADR 0017). */
export interface RefundLegsDrift {
  refundId: string;
  purchaseId: string;
  /** What the purchase's refunds add up to, against its price. */
  refundedCents: number;
  itemPriceCents: number;
  expected: RefundLegFigures;
  posted: RefundLegFigures;
}

export interface RefundLegFigures {
  buyer: number;
  author: number;
  platform: number;
  receivables: number;
  other: number;
}

export interface RefundChunk {
  refundsChecked: number;
  lastRefundId: string | undefined;
  driftCount: number;
  drifts: RefundLegsDrift[];
}

export interface PurchaseChunk {
  purchasesChecked: number;
  lastPurchaseId: string | undefined;
  /** Exact over the chunk; `drifts` details at most `detailLimit` of them. */
  driftCount: number;
  drifts: PurchaseLegsDrift[];
}

// ----- row types of the check statements ---------------------------------------------------
// A check statement returns its counts on every row and one drifted group per row; when nothing
// drifted, one row whose detail columns are all NULL (a LEFT JOIN LATERAL on the details).

type Nulls<T> = { [K in keyof T]: null };
type CountedRows<Counts, Detail> = (Counts & (Detail | Nulls<Detail>))[];

/** int8 columns arrive as text; `kept_` names what the service kept, the bare name the ledger. */
interface TotalsColumns {
  deposited: string;
  withdrawn: string;
  purchase_volume: string;
  royalties: string;
  platform_revenue: string;
  purchase_count: string;
  refunded: string;
  royalties_refunded: string;
  platform_revenue_refunded: string;
  refund_count: string;
  payouts_paid: string;
  payouts_failed: string;
}
interface KeptTotalsColumns {
  kept_deposited: string;
  kept_withdrawn: string;
  kept_purchase_volume: string;
  kept_royalties: string;
  kept_platform_revenue: string;
  kept_purchase_count: string;
  kept_refunded: string;
  kept_royalties_refunded: string;
  kept_platform_revenue_refunded: string;
  kept_refund_count: string;
  kept_payouts_paid: string;
  kept_payouts_failed: string;
}
interface WindowCountColumns {
  groups_checked: number;
  drift_count: number;
  repaired_rows: number;
}
interface HourlyDriftColumns extends TotalsColumns, KeptTotalsColumns {
  bucket_start: string;
}
interface AuthorDriftColumns {
  author_wallet_id: string;
  bucket_start: string;
  sales_count: string;
  gross_volume: string;
  royalty: string;
  refunded_volume: string;
  royalty_refunded: string;
  kept_sales_count: string;
  kept_gross_volume: string;
  kept_royalty: string;
  kept_refunded_volume: string;
  kept_royalty_refunded: string;
}
interface ItemDriftColumns extends AuthorDriftColumns {
  item_id: string;
}
interface WalletCountColumns {
  wallets: number;
  last_id: string | null;
  balance_drifts: number;
  carry_drifts: number;
  debt_drifts: number;
  orphans: number;
}
interface WalletDriftColumns {
  wallet_id: string;
  orphan: boolean;
  kept_balance: string | null;
  ledger_balance: string;
  entries: number;
  kept_carry: number | null;
  ledger_carry: string;
  kept_debt: string | null;
  ledger_debt: string;
}
interface FixCountColumns {
  examined: number;
  last_id: string | null;
}
interface FixedColumns {
  id: string;
  fix_balance: boolean;
  fix_carry: boolean;
}
interface PurchaseCountColumns {
  purchases: number;
  last_id: string | null;
  drift_count: number;
}
interface PurchaseDriftColumns {
  id: string;
  buyer_expected: string;
  author_expected: string;
  platform_expected: string;
  other_expected: string;
  expected_legs: number;
  buyer_posted: string;
  author_posted: string;
  platform_posted: string;
  other_posted: string;
  posted_legs: number;
}

interface RefundCountColumns {
  refunds: number;
  last_id: string | null;
  drift_count: number;
}
interface RefundDriftColumns {
  id: string;
  purchase_id: string;
  refunded: string;
  item_price: string;
  buyer_expected: string;
  author_expected: string;
  platform_expected: string;
  receivables_expected: string;
  other_expected: string;
  buyer_posted: string;
  author_posted: string;
  platform_posted: string;
  receivables_posted: string;
  other_posted: string;
}

/** The rows that carry a drifted group (every row but the all-NULL one). */
function detailRows<Counts, Detail>(rows: readonly (Counts & (Detail | Nulls<Detail>))[], key: keyof Detail): Detail[] {
  return rows.filter((row): row is Counts & Detail => row[key] !== null);
}

const totalsOf = (row: TotalsColumns): TotalsFigures => ({
  deposited: toSafeInteger(row.deposited),
  withdrawn: toSafeInteger(row.withdrawn),
  purchaseVolume: toSafeInteger(row.purchase_volume),
  royalties: toSafeInteger(row.royalties),
  platformRevenue: toSafeInteger(row.platform_revenue),
  purchaseCount: toSafeInteger(row.purchase_count),
  refunded: toSafeInteger(row.refunded),
  royaltiesRefunded: toSafeInteger(row.royalties_refunded),
  platformRevenueRefunded: toSafeInteger(row.platform_revenue_refunded),
  refundCount: toSafeInteger(row.refund_count),
  payoutsPaid: toSafeInteger(row.payouts_paid),
  payoutsFailed: toSafeInteger(row.payouts_failed),
});

const keptTotalsOf = (row: KeptTotalsColumns): TotalsFigures => ({
  deposited: toSafeInteger(row.kept_deposited),
  withdrawn: toSafeInteger(row.kept_withdrawn),
  purchaseVolume: toSafeInteger(row.kept_purchase_volume),
  royalties: toSafeInteger(row.kept_royalties),
  platformRevenue: toSafeInteger(row.kept_platform_revenue),
  purchaseCount: toSafeInteger(row.kept_purchase_count),
  refunded: toSafeInteger(row.kept_refunded),
  royaltiesRefunded: toSafeInteger(row.kept_royalties_refunded),
  platformRevenueRefunded: toSafeInteger(row.kept_platform_revenue_refunded),
  refundCount: toSafeInteger(row.kept_refund_count),
  payoutsPaid: toSafeInteger(row.kept_payouts_paid),
  payoutsFailed: toSafeInteger(row.kept_payouts_failed),
});

/** A compared author (or item) rollup row's figures: as kept, and as the sales give them. */
const authorFiguresOf = (row: AuthorDriftColumns): { kept: AuthorFigures; ledger: AuthorFigures } => ({
  kept: {
    salesCount: toSafeInteger(row.kept_sales_count),
    grossVolume: toSafeInteger(row.kept_gross_volume),
    royalty: toSafeInteger(row.kept_royalty),
    refundedVolume: toSafeInteger(row.kept_refunded_volume),
    royaltyRefunded: toSafeInteger(row.kept_royalty_refunded),
  },
  ledger: {
    salesCount: toSafeInteger(row.sales_count),
    grossVolume: toSafeInteger(row.gross_volume),
    royalty: toSafeInteger(row.royalty),
    refundedVolume: toSafeInteger(row.refunded_volume),
    royaltyRefunded: toSafeInteger(row.royalty_refunded),
  },
});

/** The author rollup tables by grain, and the column that names their UTC hour or day. */
const AUTHOR_ROLLUPS = {
  hour: { table: 'author_hourly_rollups', column: 'bucket_start' },
  day: { table: 'author_daily_rollups', column: 'day_start' },
} as const;

const runColumns = {
  id: reconciliationRuns.id,
  trigger: reconciliationRuns.trigger,
  requestedBy: reconciliationRuns.requestedBy,
  status: reconciliationRuns.status,
  fixBalances: reconciliationRuns.fixBalances,
  checked: reconciliationRuns.checked,
  drifts: reconciliationRuns.drifts,
  driftCount: reconciliationRuns.driftCount,
  correctedCount: reconciliationRuns.correctedCount,
  error: reconciliationRuns.error,
  createdAt: reconciliationRuns.createdAt,
  startedAt: reconciliationRuns.startedAt,
  finishedAt: reconciliationRuns.finishedAt,
};

type RunSelect = Pick<typeof reconciliationRuns.$inferSelect, keyof typeof runColumns>;

function toRunRow(row: RunSelect): RunRow {
  return {
    ...row,
    trigger: oneOf(RUN_TRIGGERS, row.trigger, 'run trigger'),
    status: oneOf(RUN_STATUSES, row.status, 'run status'),
    checked: storedCounts(row.checked),
    drifts: storedDrifts(row.drifts),
  };
}

/** A stored text column that a CHECK constraint keeps to known values. */
function oneOf<T extends string>(known: readonly T[], value: string, what: string): T {
  const match = known.find((candidate) => candidate === value);
  if (match === undefined) throw new Error(`unknown ${what}: ${value}`);
  return match;
}

const isObject = (value: unknown): value is Record<string, unknown> => typeof value === 'object' && value !== null;

/** A run's stored `checked` figures (jsonb), as written by completeRun. */
function storedCounts(value: unknown): Record<string, number> | null {
  if (!isObject(value)) return null;
  return Object.fromEntries(
    Object.entries(value).filter((entry): entry is [string, number] => typeof entry[1] === 'number'),
  );
}

const isFigures = (value: unknown): value is Record<string, number> =>
  isObject(value) && Object.values(value).every((figure) => typeof figure === 'number');

/** A run's stored drifts (jsonb), as written by completeRun. */
function storedDrifts(value: unknown): Drift[] {
  if (!Array.isArray(value)) return [];
  const drifts = value.filter(isStoredDrift);
  if (drifts.length !== value.length) throw new Error('a stored reconciliation drift is malformed');
  return drifts;
}

function isStoredDrift(value: unknown): value is Drift {
  return (
    isObject(value) &&
    CHECK_NAMES.some((name) => name === value.check) &&
    isObject(value.key) &&
    Object.values(value.key).every((part) => typeof part === 'string') &&
    isFigures(value.before) &&
    isFigures(value.expected) &&
    typeof value.corrected === 'boolean'
  );
}

/**
 * Every reconciliation query. Checks are set-based and each covers one key range (an hour-aligned
 * time window, a range of wallet ids, a range of ledger entry ids), so memory stays bounded at
 * any ledger size. Repairs of derived aggregates add the drift as a delta inside the statement
 * that measured it: the statement's snapshot sees the ledger and the aggregates consistently,
 * and a delta stays right even when purchases commit meanwhile.
 */
@Injectable()
export class ReconciliationRepository {
  constructor(private readonly database: Database) {}

  // ----- runs -----------------------------------------------------------------------------

  /** A queued manual run, or the run that is already queued or running (one at a time). */
  async createManualRun(params: { requestedBy: string; fixBalances: boolean }): Promise<{ run: RunRow; created: boolean }> {
    return this.database.transaction(async (tx) => {
      await tx.execute(drizzleSql`SELECT pg_advisory_xact_lock(${ENQUEUE_LOCK_KEY})`);
      const [active] = await tx
        .select(runColumns)
        .from(reconciliationRuns)
        .where(
          and(
            inArray(reconciliationRuns.status, ['queued', 'running']),
            gt(reconciliationRuns.createdAt, drizzleSql`now() - make_interval(secs => ${ACTIVE_RUN_STALE_SECONDS})`),
          ),
        )
        .orderBy(desc(reconciliationRuns.createdAt))
        .limit(1);
      if (active) return { run: toRunRow(active), created: false };
      const inserted = await tx
        .insert(reconciliationRuns)
        .values({ trigger: 'manual', requestedBy: params.requestedBy, status: 'queued', fixBalances: params.fixBalances })
        .returning(runColumns);
      return { run: toRunRow(firstRow(inserted, 'the run insert')), created: true };
    });
  }

  async createScheduledRun(params: { fixBalances: boolean }): Promise<RunRow> {
    const inserted = await this.database.db
      .insert(reconciliationRuns)
      .values({ trigger: 'schedule', status: 'running', fixBalances: params.fixBalances, startedAt: new Date() })
      .returning(runColumns);
    return toRunRow(firstRow(inserted, 'the run insert'));
  }

  /** Moves a queued run to running; false if it is not queued (already done, or unknown). */
  async startQueuedRun(runId: string): Promise<boolean> {
    const rows = await this.database.db
      .update(reconciliationRuns)
      .set({ status: 'running', startedAt: new Date() })
      .where(and(eq(reconciliationRuns.id, runId), eq(reconciliationRuns.status, 'queued')))
      .returning({ id: reconciliationRuns.id });
    return rows.length === 1;
  }

  /** Runs left `running` by a process that died; called only while holding the run lock. */
  async failAbandonedRuns(): Promise<number> {
    const rows = await this.database.db
      .update(reconciliationRuns)
      .set({ status: 'failed', error: 'abandoned: the process running it stopped', finishedAt: new Date() })
      .where(eq(reconciliationRuns.status, 'running'))
      .returning({ id: reconciliationRuns.id });
    return rows.length;
  }

  async completeRun(runId: string, outcome: RunOutcome): Promise<void> {
    await this.database.db
      .update(reconciliationRuns)
      .set({
        status: 'completed',
        checked: outcome.checked,
        drifts: outcome.drifts,
        driftCount: outcome.driftCount,
        correctedCount: outcome.correctedCount,
        finishedAt: new Date(),
      })
      .where(eq(reconciliationRuns.id, runId));
  }

  async failRun(runId: string, error: string): Promise<void> {
    await this.database.db
      .update(reconciliationRuns)
      .set({ status: 'failed', error, finishedAt: new Date() })
      .where(eq(reconciliationRuns.id, runId));
  }

  /** Manual runs still waiting for their job that were requested before `createdBefore`, oldest first. */
  async findQueuedManualRuns({ createdBefore, limit }: { createdBefore: Date; limit: number }): Promise<{ id: string; createdAt: Date }[]> {
    return this.database.db
      .select({ id: reconciliationRuns.id, createdAt: reconciliationRuns.createdAt })
      .from(reconciliationRuns)
      .where(
        and(
          eq(reconciliationRuns.status, 'queued'),
          eq(reconciliationRuns.trigger, 'manual'),
          lt(reconciliationRuns.createdAt, createdBefore),
        ),
      )
      .orderBy(asc(reconciliationRuns.createdAt))
      .limit(limit);
  }

  /** Fails a run only if it is still queued: a job that started it meanwhile wins. */
  async failQueuedRun(runId: string, error: string): Promise<boolean> {
    const rows = await this.database.db
      .update(reconciliationRuns)
      .set({ status: 'failed', error, finishedAt: new Date() })
      .where(and(eq(reconciliationRuns.id, runId), eq(reconciliationRuns.status, 'queued')))
      .returning({ id: reconciliationRuns.id });
    return rows.length === 1;
  }

  async findRun(runId: string): Promise<RunRow | undefined> {
    const [row] = await this.database.db.select(runColumns).from(reconciliationRuns).where(eq(reconciliationRuns.id, runId));
    return row ? toRunRow(row) : undefined;
  }

  async platformWalletId(platformUserId: string): Promise<string | undefined> {
    const [row] = await this.database.db.select({ id: wallets.id }).from(wallets).where(eq(wallets.userId, platformUserId));
    return row?.id;
  }

  /**
   * Runs `work` holding the session advisory lock on a connection of its own; undefined when
   * another run (in any process) holds it. The lock ends with the connection if the process dies.
   * A real session (`sessionSql`): behind a transaction pooler the lock would stay on a server
   * connection that other clients then get (ADR 0051).
   */
  async withRunLock<T>(work: () => Promise<T>): Promise<{ acquired: true; value: T } | { acquired: false }> {
    const reserved = await this.database.sessionSql.reserve();
    try {
      const [row] = await reserved<{ locked: boolean }[]>`SELECT pg_try_advisory_lock(${RUN_LOCK_KEY}) AS locked`;
      if (!row?.locked) return { acquired: false };
      try {
        return { acquired: true, value: await work() };
      } finally {
        await reserved`SELECT pg_advisory_unlock(${RUN_LOCK_KEY})`;
      }
    } finally {
      reserved.release();
    }
  }

  // ----- checks and repairs -----------------------------------------------------------------

  /** One short transaction with the reconciliation statement timeout, each statement its own snapshot. */
  private withTimeout<T>(work: (sql: ReadTransaction) => Promise<T>): Promise<T> {
    return longReadTransaction(this.database.sql, RECONCILE_STATEMENTS, work);
  }

  /**
   * All-time totals against the ledger; a drift goes into slot 0 as a delta, so the slots sum
   * to the ledger's figures again and no other slot is written.
   */
  async repairRunningTotals(): Promise<TotalsComparison> {
    const rows = await this.withTimeout(
      (sql) => sql<(TotalsColumns & KeptTotalsColumns & { repaired_rows: number })[]>`
        WITH ledger AS (
          -- Withdrawn: what sits in the payout and payouts_pending accounts (ADR 0018); paid: the
          -- payout account alone; failed: the outcomes that sent a payout back to its wallet.
          SELECT coalesce(sum(-amount) FILTER (WHERE system_account = 'funding'), 0)::bigint AS deposited,
                 coalesce(sum(amount) FILTER (WHERE system_account IN ('payout', 'payouts_pending')), 0)::bigint AS withdrawn,
                 coalesce(sum(amount) FILTER (WHERE system_account = 'payout'), 0)::bigint AS payouts_paid,
                 (SELECT coalesce(sum(o.amount), 0) FROM withdrawal_outcomes o WHERE o.status = 'failed')::bigint
                   AS payouts_failed
            FROM ledger_entries WHERE system_account IS NOT NULL
        ), sales AS (
          SELECT coalesce(sum(item_price), 0)::bigint AS purchase_volume,
                 coalesce(sum(author_amount), 0)::bigint AS royalties,
                 coalesce(sum(platform_amount), 0)::bigint AS platform_revenue,
                 count(*)::bigint AS purchase_count
            FROM purchases
        ), refunded AS (
          SELECT coalesce(sum(amount), 0)::bigint AS refunded,
                 coalesce(sum(author_amount), 0)::bigint AS royalties_refunded,
                 coalesce(sum(platform_amount), 0)::bigint AS platform_revenue_refunded,
                 count(*)::bigint AS refund_count
            FROM refunds
        ), kept AS (
          SELECT coalesce(sum(deposited), 0)::bigint AS deposited, coalesce(sum(withdrawn), 0)::bigint AS withdrawn,
                 coalesce(sum(purchase_volume), 0)::bigint AS purchase_volume,
                 coalesce(sum(royalties), 0)::bigint AS royalties,
                 coalesce(sum(platform_revenue), 0)::bigint AS platform_revenue,
                 coalesce(sum(purchase_count), 0)::bigint AS purchase_count,
                 coalesce(sum(refunded), 0)::bigint AS refunded,
                 coalesce(sum(royalties_refunded), 0)::bigint AS royalties_refunded,
                 coalesce(sum(platform_revenue_refunded), 0)::bigint AS platform_revenue_refunded,
                 coalesce(sum(refund_count), 0)::bigint AS refund_count,
                 coalesce(sum(payouts_paid), 0)::bigint AS payouts_paid,
                 coalesce(sum(payouts_failed), 0)::bigint AS payouts_failed
            FROM running_totals
        ), repaired AS (
          INSERT INTO running_totals AS t
            (slot, deposited, withdrawn, purchase_volume, royalties, platform_revenue, purchase_count,
             refunded, royalties_refunded, platform_revenue_refunded, refund_count, payouts_paid, payouts_failed)
          SELECT 0, l.deposited - k.deposited, l.withdrawn - k.withdrawn, s.purchase_volume - k.purchase_volume,
                 s.royalties - k.royalties, s.platform_revenue - k.platform_revenue, s.purchase_count - k.purchase_count,
                 r.refunded - k.refunded, r.royalties_refunded - k.royalties_refunded,
                 r.platform_revenue_refunded - k.platform_revenue_refunded, r.refund_count - k.refund_count,
                 l.payouts_paid - k.payouts_paid, l.payouts_failed - k.payouts_failed
            FROM ledger l, sales s, refunded r, kept k
           WHERE (l.deposited, l.withdrawn, s.purchase_volume, s.royalties, s.platform_revenue, s.purchase_count,
                  r.refunded, r.royalties_refunded, r.platform_revenue_refunded, r.refund_count, l.payouts_paid,
                  l.payouts_failed)
                 IS DISTINCT FROM
                 (k.deposited, k.withdrawn, k.purchase_volume, k.royalties, k.platform_revenue, k.purchase_count,
                  k.refunded, k.royalties_refunded, k.platform_revenue_refunded, k.refund_count, k.payouts_paid,
                  k.payouts_failed)
          ON CONFLICT (slot) DO UPDATE SET
            deposited = t.deposited + excluded.deposited,
            withdrawn = t.withdrawn + excluded.withdrawn,
            purchase_volume = t.purchase_volume + excluded.purchase_volume,
            royalties = t.royalties + excluded.royalties,
            platform_revenue = t.platform_revenue + excluded.platform_revenue,
            purchase_count = t.purchase_count + excluded.purchase_count,
            refunded = t.refunded + excluded.refunded,
            royalties_refunded = t.royalties_refunded + excluded.royalties_refunded,
            platform_revenue_refunded = t.platform_revenue_refunded + excluded.platform_revenue_refunded,
            refund_count = t.refund_count + excluded.refund_count,
            payouts_paid = t.payouts_paid + excluded.payouts_paid,
            payouts_failed = t.payouts_failed + excluded.payouts_failed
          RETURNING t.slot
        )
        SELECT k.deposited AS kept_deposited, k.withdrawn AS kept_withdrawn, k.purchase_volume AS kept_purchase_volume,
               k.royalties AS kept_royalties, k.platform_revenue AS kept_platform_revenue,
               k.purchase_count AS kept_purchase_count, k.refunded AS kept_refunded,
               k.royalties_refunded AS kept_royalties_refunded,
               k.platform_revenue_refunded AS kept_platform_revenue_refunded, k.refund_count AS kept_refund_count,
               k.payouts_paid AS kept_payouts_paid, k.payouts_failed AS kept_payouts_failed,
               l.deposited, l.withdrawn, s.purchase_volume, s.royalties, s.platform_revenue, s.purchase_count,
               r.refunded, r.royalties_refunded, r.platform_revenue_refunded, r.refund_count, l.payouts_paid,
               l.payouts_failed,
               (SELECT count(*) FROM repaired)::int AS repaired_rows
          FROM ledger l, sales s, refunded r, kept k`,
    );
    const row = firstRow(rows, 'the running totals repair');
    return { kept: keptTotalsOf(row), ledger: totalsOf(row), repairedRows: row.repaired_rows };
  }

  /**
   * The start of the next UTC day that has ledger entries, purchases or rollup rows at or after
   * `after` (every source a window compares), so that windows skip empty stretches of time
   * through the indexes.
   */
  async nextActiveDay(after: Date | undefined): Promise<Date | undefined> {
    // Timestamps travel as ISO text: the shared client's type serialisers are drizzle's.
    const from = after?.toISOString() ?? '-infinity';
    const [row] = await this.database.sql<{ next: Date | string | null }[]>`
      SELECT date_trunc('day', least(
               (SELECT min(created_at) FROM ledger_entries WHERE created_at >= ${from}::timestamptz),
               (SELECT min(created_at) FROM purchases WHERE created_at >= ${from}::timestamptz),
               (SELECT min(bucket_start) FROM hourly_rollups WHERE bucket_start >= ${from}::timestamptz),
               (SELECT min(bucket_start) FROM author_hourly_rollups WHERE bucket_start >= ${from}::timestamptz),
               (SELECT min(day_start) FROM author_daily_rollups WHERE day_start >= ${from}::timestamptz),
               (SELECT min(bucket_start) FROM item_author_hourly_rollups WHERE bucket_start >= ${from}::timestamptz)), 'UTC')
             AS next`;
    return row?.next ? toDate(row.next) : undefined;
  }

  /**
   * The authorized holds against the wallets' held balances and the holds account, in one
   * statement (one snapshot). Authorized holds are read through their partial index; held
   * balances from every wallet, like the wallet checks.
   */
  async comparePendingHolds(): Promise<PendingHoldsComparison> {
    const rows = await this.withTimeout(
      (sql) => sql<{ holds: number; holds_cents: string; held_cents: string; account_cents: string }[]>`
        SELECT (SELECT count(*) FROM holds WHERE status = 'authorized')::int AS holds,
               (SELECT coalesce(sum(amount), 0) FROM holds WHERE status = 'authorized')::text AS holds_cents,
               (SELECT coalesce(sum(held_balance), 0) FROM wallets)::text AS held_cents,
               (SELECT coalesce(sum(amount), 0) FROM ledger_entries WHERE system_account = 'holds')::text AS account_cents`,
    );
    const row = firstRow(rows, 'the pending holds');
    return {
      holds: row.holds,
      holdsCents: toSafeInteger(row.holds_cents),
      heldBalancesCents: toSafeInteger(row.held_cents),
      accountCents: toSafeInteger(row.account_cents),
    };
  }

  /** The pending withdrawals against the payouts_pending account, in one statement (one snapshot). */
  async comparePendingPayouts(): Promise<PendingPayoutsComparison> {
    const rows = await this.withTimeout(
      (sql) => sql<{ withdrawals: number; withdrawals_cents: string; account_cents: string }[]>`
        WITH pending AS (
          SELECT w.amount FROM withdrawals w
           WHERE w.posted_to = 'payouts_pending'
             AND NOT EXISTS (SELECT FROM withdrawal_outcomes o WHERE o.withdrawal_id = w.id)
        )
        SELECT (SELECT count(*) FROM pending)::int AS withdrawals,
               (SELECT coalesce(sum(amount), 0) FROM pending)::text AS withdrawals_cents,
               (SELECT coalesce(sum(amount), 0) FROM ledger_entries WHERE system_account = 'payouts_pending')::text
                 AS account_cents`,
    );
    const row = firstRow(rows, 'the pending payouts');
    return {
      withdrawals: row.withdrawals,
      withdrawalsCents: toSafeInteger(row.withdrawals_cents),
      accountCents: toSafeInteger(row.account_cents),
    };
  }

  /**
   * Hourly rollups in [from, to) (hour-aligned) against the funding and payout entries and the
   * purchases, grouped by UTC hour; each drifted bucket gets its delta in slot 0. Deposits and
   * withdrawals are counted from the same entries as the running totals and the report edges,
   * so that the hours always add up to the totals.
   */
  async repairHourlyRollups(window: { from: Date; to: Date }, detailLimit: number): Promise<WindowRepair<BucketDrift>> {
    const from = window.from.toISOString();
    const to = window.to.toISOString();
    const rows = await this.withTimeout(
      (sql) => sql<CountedRows<WindowCountColumns, HourlyDriftColumns>>`
        WITH moves AS (
          SELECT e.created_at,
                 CASE WHEN e.system_account = 'funding' THEN -e.amount ELSE 0 END::bigint AS deposited,
                 CASE WHEN e.system_account IN ('payout', 'payouts_pending') THEN e.amount ELSE 0 END::bigint AS withdrawn,
                 0::bigint AS purchase_volume, 0::bigint AS royalties, 0::bigint AS platform_revenue,
                 0::bigint AS purchase_count, 0::bigint AS refunded, 0::bigint AS royalties_refunded,
                 0::bigint AS platform_revenue_refunded, 0::bigint AS refund_count,
                 CASE WHEN e.system_account = 'payout' THEN e.amount ELSE 0 END::bigint AS payouts_paid,
                 0::bigint AS payouts_failed
            FROM ledger_entries e
           WHERE e.created_at >= ${from} AND e.created_at < ${to}
             AND e.system_account IN ('funding', 'payout', 'payouts_pending')
          UNION ALL
          SELECT p.created_at, 0, 0, p.item_price, p.author_amount, p.platform_amount, 1, 0, 0, 0, 0, 0, 0
            FROM purchases p WHERE p.created_at >= ${from} AND p.created_at < ${to}
          UNION ALL
          SELECT r.created_at, 0, 0, 0, 0, 0, 0, r.amount, r.author_amount, r.platform_amount, 1, 0, 0
            FROM refunds r WHERE r.created_at >= ${from} AND r.created_at < ${to}
          UNION ALL
          SELECT o.created_at, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, o.amount
            FROM withdrawal_outcomes o
           WHERE o.status = 'failed' AND o.created_at >= ${from} AND o.created_at < ${to}
        ), ledger AS (
          SELECT date_trunc('hour', created_at, 'UTC') AS bucket_start,
                 sum(deposited)::bigint AS deposited, sum(withdrawn)::bigint AS withdrawn,
                 sum(purchase_volume)::bigint AS purchase_volume, sum(royalties)::bigint AS royalties,
                 sum(platform_revenue)::bigint AS platform_revenue, sum(purchase_count)::bigint AS purchase_count,
                 sum(refunded)::bigint AS refunded, sum(royalties_refunded)::bigint AS royalties_refunded,
                 sum(platform_revenue_refunded)::bigint AS platform_revenue_refunded,
                 sum(refund_count)::bigint AS refund_count, sum(payouts_paid)::bigint AS payouts_paid,
                 sum(payouts_failed)::bigint AS payouts_failed
            FROM moves GROUP BY 1
        ), kept AS (
          SELECT bucket_start, sum(deposited)::bigint AS deposited, sum(withdrawn)::bigint AS withdrawn,
                 sum(purchase_volume)::bigint AS purchase_volume, sum(royalties)::bigint AS royalties,
                 sum(platform_revenue)::bigint AS platform_revenue, sum(purchase_count)::bigint AS purchase_count,
                 sum(refunded)::bigint AS refunded, sum(royalties_refunded)::bigint AS royalties_refunded,
                 sum(platform_revenue_refunded)::bigint AS platform_revenue_refunded,
                 sum(refund_count)::bigint AS refund_count, sum(payouts_paid)::bigint AS payouts_paid,
                 sum(payouts_failed)::bigint AS payouts_failed
            FROM hourly_rollups WHERE bucket_start >= ${from} AND bucket_start < ${to}
           GROUP BY bucket_start
        ), compared AS (
          SELECT coalesce(l.bucket_start, k.bucket_start) AS bucket_start,
                 coalesce(k.deposited, 0) AS kept_deposited, coalesce(k.withdrawn, 0) AS kept_withdrawn,
                 coalesce(k.purchase_volume, 0) AS kept_purchase_volume, coalesce(k.royalties, 0) AS kept_royalties,
                 coalesce(k.platform_revenue, 0) AS kept_platform_revenue,
                 coalesce(k.purchase_count, 0) AS kept_purchase_count, coalesce(k.refunded, 0) AS kept_refunded,
                 coalesce(k.royalties_refunded, 0) AS kept_royalties_refunded,
                 coalesce(k.platform_revenue_refunded, 0) AS kept_platform_revenue_refunded,
                 coalesce(k.refund_count, 0) AS kept_refund_count,
                 coalesce(k.payouts_paid, 0) AS kept_payouts_paid, coalesce(k.payouts_failed, 0) AS kept_payouts_failed,
                 coalesce(l.deposited, 0) AS deposited, coalesce(l.withdrawn, 0) AS withdrawn,
                 coalesce(l.purchase_volume, 0) AS purchase_volume, coalesce(l.royalties, 0) AS royalties,
                 coalesce(l.platform_revenue, 0) AS platform_revenue, coalesce(l.purchase_count, 0) AS purchase_count,
                 coalesce(l.refunded, 0) AS refunded, coalesce(l.royalties_refunded, 0) AS royalties_refunded,
                 coalesce(l.platform_revenue_refunded, 0) AS platform_revenue_refunded,
                 coalesce(l.refund_count, 0) AS refund_count,
                 coalesce(l.payouts_paid, 0) AS payouts_paid, coalesce(l.payouts_failed, 0) AS payouts_failed
            FROM ledger l FULL JOIN kept k ON k.bucket_start = l.bucket_start
        ), drift AS (
          SELECT * FROM compared
           WHERE (deposited, withdrawn, purchase_volume, royalties, platform_revenue, purchase_count,
                  refunded, royalties_refunded, platform_revenue_refunded, refund_count, payouts_paid, payouts_failed)
                 IS DISTINCT FROM
                 (kept_deposited, kept_withdrawn, kept_purchase_volume, kept_royalties, kept_platform_revenue,
                  kept_purchase_count, kept_refunded, kept_royalties_refunded, kept_platform_revenue_refunded,
                  kept_refund_count, kept_payouts_paid, kept_payouts_failed)
        ), repaired AS (
          INSERT INTO hourly_rollups AS r
            (bucket_start, slot, deposited, withdrawn, purchase_volume, royalties, platform_revenue, purchase_count,
             refunded, royalties_refunded, platform_revenue_refunded, refund_count, payouts_paid, payouts_failed)
          SELECT bucket_start, 0, deposited - kept_deposited, withdrawn - kept_withdrawn,
                 purchase_volume - kept_purchase_volume, royalties - kept_royalties,
                 platform_revenue - kept_platform_revenue, purchase_count - kept_purchase_count,
                 refunded - kept_refunded, royalties_refunded - kept_royalties_refunded,
                 platform_revenue_refunded - kept_platform_revenue_refunded, refund_count - kept_refund_count,
                 payouts_paid - kept_payouts_paid, payouts_failed - kept_payouts_failed
            FROM drift
          ON CONFLICT (bucket_start, slot) DO UPDATE SET
            deposited = r.deposited + excluded.deposited,
            withdrawn = r.withdrawn + excluded.withdrawn,
            purchase_volume = r.purchase_volume + excluded.purchase_volume,
            royalties = r.royalties + excluded.royalties,
            platform_revenue = r.platform_revenue + excluded.platform_revenue,
            purchase_count = r.purchase_count + excluded.purchase_count,
            refunded = r.refunded + excluded.refunded,
            royalties_refunded = r.royalties_refunded + excluded.royalties_refunded,
            platform_revenue_refunded = r.platform_revenue_refunded + excluded.platform_revenue_refunded,
            refund_count = r.refund_count + excluded.refund_count,
            payouts_paid = r.payouts_paid + excluded.payouts_paid,
            payouts_failed = r.payouts_failed + excluded.payouts_failed
          RETURNING 1
        )
        SELECT (SELECT count(*) FROM compared)::int AS groups_checked, (SELECT count(*) FROM drift)::int AS drift_count,
               (SELECT count(*) FROM repaired)::int AS repaired_rows, d.*
          FROM (SELECT 1) one
          LEFT JOIN LATERAL (SELECT * FROM drift ORDER BY bucket_start LIMIT ${detailLimit}) d ON true`,
    );
    const head = firstRow(rows, 'the hourly rollup repair');
    return {
      groupsChecked: head.groups_checked,
      driftCount: head.drift_count,
      repairedRows: head.repaired_rows,
      drifts: detailRows<WindowCountColumns, HourlyDriftColumns>(rows, 'bucket_start').map((row) => ({
        bucketStart: toDate(row.bucket_start),
        kept: keptTotalsOf(row),
        ledger: totalsOf(row),
      })),
    };
  }

  /**
   * Per-author rollups of one grain in [from, to) against purchases, grouped by author and UTC
   * hour or day (the window must be whole units of that grain); drifted rows get their delta.
   * The trigger that keeps days equal to their hours carries hourly repairs to the days, so a
   * daily drift takes a direct write to the daily table.
   */
  async repairAuthorRollups(
    grain: 'hour' | 'day',
    window: { from: Date; to: Date },
    detailLimit: number,
  ): Promise<WindowRepair<AuthorBucketDrift>> {
    const repair = await this.repairPayeeRollups<AuthorDriftColumns>({ ...AUTHOR_ROLLUPS[grain], grain, byItem: false }, window, detailLimit);
    return {
      ...repair,
      drifts: repair.drifts.map((row) => ({
        authorWalletId: row.author_wallet_id,
        bucketStart: toDate(row.bucket_start),
        ...authorFiguresOf(row),
      })),
    };
  }

  /**
   * Item rollups (ADR 0066) in [from, to) (hour-aligned) against the purchases that name an item
   * and their refunds, grouped by item, payee and UTC hour, counted as the author rollups count;
   * drifted rows get their delta.
   */
  async repairItemRollups(window: { from: Date; to: Date }, detailLimit: number): Promise<WindowRepair<ItemBucketDrift>> {
    const repair = await this.repairPayeeRollups<ItemDriftColumns>(
      { table: 'item_author_hourly_rollups', column: 'bucket_start', grain: 'hour', byItem: true },
      window,
      detailLimit,
    );
    return {
      ...repair,
      drifts: repair.drifts.map((row) => ({
        itemId: row.item_id,
        authorWalletId: row.author_wallet_id,
        bucketStart: toDate(row.bucket_start),
        ...authorFiguresOf(row),
      })),
    };
  }

  /**
   * The one statement behind both repairs above: the payee rollups kept in `table` against what
   * purchases and refunds say, each payee of a split purchase (ADR 0045) with its own part.
   * `byItem` adds the item to the key (and `item_id` to the detail rows) and leaves out the
   * purchases that name none.
   */
  private async repairPayeeRollups<Detail extends AuthorDriftColumns>(
    rollups: { table: string; column: string; grain: 'hour' | 'day'; byItem: boolean },
    window: { from: Date; to: Date },
    detailLimit: number,
  ): Promise<WindowRepair<Detail>> {
    const { table, column, grain, byItem } = rollups;
    const from = window.from.toISOString();
    const to = window.to.toISOString();
    const rows = await this.withTimeout((sql) => {
      // What byItem adds: the item as the first key column, and the filter to purchases naming one.
      const item = (fragment: PendingQuery<Row[]>) => (byItem ? fragment : sql``);
      const namesItem = item(sql`AND p.item_id IS NOT NULL`);
      return sql<CountedRows<WindowCountColumns, Detail>>`
        WITH flows AS (
          SELECT ${item(sql`p.item_id,`)} p.author_wallet_id, p.created_at, 1::bigint AS sales_count,
                 p.item_price AS gross_volume, p.author_amount AS royalty, 0::bigint AS refunded_volume,
                 0::bigint AS royalty_refunded
            FROM purchases p
           WHERE p.created_at >= ${from} AND p.created_at < ${to} AND p.royalty_terms_version IS NULL ${namesItem}
          UNION ALL
          SELECT ${item(sql`p.item_id,`)} p.author_wallet_id, r.created_at, 0, 0, 0, r.amount, r.author_amount
            FROM refunds r JOIN purchases p ON p.id = r.purchase_id
           WHERE r.created_at >= ${from} AND r.created_at < ${to} AND r.royalty_terms_version IS NULL ${namesItem}
          UNION ALL
          SELECT ${item(sql`p.item_id,`)} x.wallet_id, x.created_at, 1, p.item_price, x.amount_cents, 0, 0
            FROM purchase_payees x JOIN purchases p ON p.id = x.purchase_id
           WHERE x.created_at >= ${from} AND x.created_at < ${to} ${namesItem}
          UNION ALL
          SELECT ${item(sql`p.item_id,`)} x.wallet_id, x.created_at, 0, 0, 0, r.amount, x.amount_cents
            FROM refund_payees x JOIN refunds r ON r.id = x.refund_id ${item(sql`JOIN purchases p ON p.id = r.purchase_id`)}
           WHERE x.created_at >= ${from} AND x.created_at < ${to} ${namesItem}
        ), ledger AS (
          SELECT ${item(sql`item_id,`)} author_wallet_id, date_trunc(${grain}, created_at, 'UTC') AS bucket_start,
                 sum(sales_count)::bigint AS sales_count, sum(gross_volume)::bigint AS gross_volume,
                 sum(royalty)::bigint AS royalty, sum(refunded_volume)::bigint AS refunded_volume,
                 sum(royalty_refunded)::bigint AS royalty_refunded
            FROM flows
           GROUP BY ${item(sql`item_id,`)} author_wallet_id, bucket_start
        ), kept AS (
          SELECT ${item(sql`item_id,`)} author_wallet_id, ${sql(column)} AS bucket_start, sales_count, gross_volume,
                 royalty, refunded_volume, royalty_refunded
            FROM ${sql(table)} WHERE ${sql(column)} >= ${from} AND ${sql(column)} < ${to}
        ), compared AS (
          SELECT ${item(sql`coalesce(l.item_id, k.item_id) AS item_id,`)}
                 coalesce(l.author_wallet_id, k.author_wallet_id) AS author_wallet_id,
                 coalesce(l.bucket_start, k.bucket_start) AS bucket_start,
                 coalesce(k.sales_count, 0) AS kept_sales_count, coalesce(k.gross_volume, 0) AS kept_gross_volume,
                 coalesce(k.royalty, 0) AS kept_royalty, coalesce(k.refunded_volume, 0) AS kept_refunded_volume,
                 coalesce(k.royalty_refunded, 0) AS kept_royalty_refunded,
                 coalesce(l.sales_count, 0) AS sales_count, coalesce(l.gross_volume, 0) AS gross_volume,
                 coalesce(l.royalty, 0) AS royalty, coalesce(l.refunded_volume, 0) AS refunded_volume,
                 coalesce(l.royalty_refunded, 0) AS royalty_refunded
            FROM ledger l
            FULL JOIN kept k
              ON ${item(sql`k.item_id = l.item_id AND`)} k.author_wallet_id = l.author_wallet_id AND k.bucket_start = l.bucket_start
        ), drift AS (
          SELECT * FROM compared
           WHERE (sales_count, gross_volume, royalty, refunded_volume, royalty_refunded)
                 IS DISTINCT FROM (kept_sales_count, kept_gross_volume, kept_royalty, kept_refunded_volume,
                                   kept_royalty_refunded)
        ), repaired AS (
          INSERT INTO ${sql(table)} AS a
            (${item(sql`item_id,`)} author_wallet_id, ${sql(column)}, sales_count, gross_volume, royalty, refunded_volume,
             royalty_refunded)
          SELECT ${item(sql`item_id,`)} author_wallet_id, bucket_start, sales_count - kept_sales_count,
                 gross_volume - kept_gross_volume, royalty - kept_royalty, refunded_volume - kept_refunded_volume,
                 royalty_refunded - kept_royalty_refunded
            FROM drift
          ON CONFLICT (${item(sql`item_id,`)} author_wallet_id, ${sql(column)}) DO UPDATE SET
            sales_count = a.sales_count + excluded.sales_count,
            gross_volume = a.gross_volume + excluded.gross_volume,
            royalty = a.royalty + excluded.royalty,
            refunded_volume = a.refunded_volume + excluded.refunded_volume,
            royalty_refunded = a.royalty_refunded + excluded.royalty_refunded
          RETURNING 1
        )
        SELECT (SELECT count(*) FROM compared)::int AS groups_checked, (SELECT count(*) FROM drift)::int AS drift_count,
               (SELECT count(*) FROM repaired)::int AS repaired_rows, d.*
          FROM (SELECT 1) one
          LEFT JOIN LATERAL (
            SELECT * FROM drift ORDER BY bucket_start, ${item(sql`item_id,`)} author_wallet_id LIMIT ${detailLimit}
          ) d ON true`;
    });
    const head = firstRow(rows, byItem ? 'the item rollup repair' : 'the author rollup repair');
    return {
      groupsChecked: head.groups_checked,
      driftCount: head.drift_count,
      repairedRows: head.repaired_rows,
      drifts: detailRows<WindowCountColumns, Detail>(rows, 'bucket_start'),
    };
  }

  /**
   * The next `walletLimit` wallets after `after` (in id order): each balance (row plus slots)
   * against the sum of its entries, each carry against its purchases, and any entries in the
   * same id range that name no wallet. The last chunk's range runs to `upTo` (a sweep's slice,
   * ADR 0028), else to the largest uuid.
   */
  async compareWalletChunk(params: {
    after: string | undefined;
    upTo?: string;
    walletLimit: number;
    detailLimit: number;
    platformWalletId: string | undefined;
  }): Promise<WalletChunk> {
    const { after, walletLimit, detailLimit } = params;
    const platform = params.platformWalletId ?? UUID_MAX;
    const upTo = params.upTo ?? UUID_MAX;
    const rows = await this.withTimeout((sql) => {
      const walletsAfter =
        after === undefined && upTo === UUID_MAX ? sql`` : sql`WHERE id > ${after ?? UUID_MIN} AND id <= ${upTo}`;
      const entriesAfter = after === undefined ? sql`` : sql`AND e.wallet_id > ${after}`;
      const authorsAfter = after === undefined ? sql`` : sql`AND p.author_wallet_id > ${after}`;
      const payeesAfter = after === undefined ? sql`` : sql`AND x.wallet_id > ${after}`;
      return sql<CountedRows<WalletCountColumns, WalletDriftColumns>>`
        WITH chunk AS (
          SELECT id, balance, fractional_balance, debt FROM wallets ${walletsAfter} ORDER BY id LIMIT ${walletLimit}
        ), bounds AS (
          SELECT count(*)::int AS wallets,
                 (SELECT id FROM chunk ORDER BY id DESC LIMIT 1) AS last_id,
                 CASE WHEN count(*) < ${walletLimit} THEN ${upTo}::uuid
                      ELSE (SELECT id FROM chunk ORDER BY id DESC LIMIT 1) END AS upper
            FROM chunk
        ), ledger AS (
          SELECT e.wallet_id, sum(e.amount)::bigint AS amount, count(*)::int AS entries
            FROM ledger_entries e, bounds b
           WHERE e.wallet_id IS NOT NULL AND e.wallet_id <= b.upper ${entriesAfter}
           GROUP BY e.wallet_id
        ), slots AS (
          SELECT s.wallet_id, sum(s.balance)::bigint AS amount
            FROM wallet_balance_slots s JOIN chunk c ON c.id = s.wallet_id GROUP BY s.wallet_id
        ), royalties AS (
          -- The carry is what the identity leaves of the exact shares: sum(percent * (price - refunded))
          -- - 100 * (royalty cents credited - taken back), refunds counted on their purchase's author.
          -- A split purchase (ADR 0045) counts each payee's own part and cents instead.
          SELECT f.wallet_id, (sum(f.owed_centi_cents) - 100 * sum(f.credited_cents))::bigint AS carry
            FROM (SELECT p.author_wallet_id AS wallet_id, p.item_price * p.royalty_percent AS owed_centi_cents,
                         p.author_amount AS credited_cents
                    FROM purchases p, bounds b
                   WHERE p.author_wallet_id <= b.upper ${authorsAfter} AND p.royalty_terms_version IS NULL
                  UNION ALL
                  SELECT p.author_wallet_id, -r.amount * r.royalty_percent, -r.author_amount
                    FROM refunds r JOIN purchases p ON p.id = r.purchase_id, bounds b
                   WHERE p.author_wallet_id <= b.upper ${authorsAfter} AND p.royalty_terms_version IS NULL
                  UNION ALL
                  SELECT x.wallet_id, x.part_centi_cents, x.amount_cents
                    FROM purchase_payees x, bounds b WHERE x.wallet_id <= b.upper ${payeesAfter}
                  UNION ALL
                  SELECT x.wallet_id, -x.part_centi_cents, -x.amount_cents
                    FROM refund_payees x, bounds b WHERE x.wallet_id <= b.upper ${payeesAfter}) f
           GROUP BY f.wallet_id
        ), released_debt_repaid AS (
          -- Released cents (a void or an expiry, a capture's uncaptured part, a failed payout) are a
          -- credit that repays debt first (pending_release): what repaid it is the release's
          -- receivables leg, posted at the instant the hold or payout was resolved (which also
          -- prunes the ledger's partitions).
          SELECT h.buyer_wallet_id AS wallet_id, e.amount AS debt_repaid_cents
            FROM holds h JOIN ledger_entries e ON e.transaction_id = h.release_id AND e.created_at = h.resolved_at
           WHERE h.buyer_wallet_id IN (SELECT id FROM chunk) AND e.system_account = 'receivables'
          UNION ALL
          SELECT x.wallet_id, e.amount
            FROM withdrawals x JOIN withdrawal_outcomes o ON o.withdrawal_id = x.id AND o.status = 'failed'
            JOIN ledger_entries e ON e.transaction_id = o.id AND e.created_at = o.created_at
           WHERE x.wallet_id IN (SELECT id FROM chunk) AND e.system_account = 'receivables'
        ), debts AS (
          -- Debt comes from refunds a payee could not cover (and the platform's share of split sales
          -- that swept more than their price, when it could not cover that) and goes with the
          -- credits that repaid it.
          SELECT d.wallet_id, sum(d.cents)::bigint AS debt
            FROM (SELECT p.author_wallet_id AS wallet_id, r.author_debt AS cents
                    FROM refunds r JOIN purchases p ON p.id = r.purchase_id
                   WHERE r.author_debt > 0 AND r.royalty_terms_version IS NULL
                  UNION ALL
                  SELECT x.wallet_id, x.debt_cents - x.debt_repaid_cents FROM refund_payees x
                   WHERE x.debt_cents > 0 OR x.debt_repaid_cents > 0
                  UNION ALL
                  SELECT x.wallet_id, -x.debt_repaid_cents FROM purchase_payees x WHERE x.debt_repaid_cents > 0
                  UNION ALL
                  SELECT ${platform}::uuid, r.platform_debt FROM refunds r WHERE r.platform_debt > 0
                  UNION ALL
                  SELECT ${platform}::uuid, -r.platform_debt_repaid FROM refunds r WHERE r.platform_debt_repaid > 0
                  UNION ALL
                  SELECT ${platform}::uuid, -p.platform_debt_repaid FROM purchases p WHERE p.platform_debt_repaid > 0
                  UNION ALL
                  SELECT ${platform}::uuid, p.platform_debt FROM purchases p WHERE p.platform_debt > 0
                  UNION ALL
                  SELECT p.buyer_wallet_id, -r.buyer_debt_repaid
                    FROM refunds r JOIN purchases p ON p.id = r.purchase_id WHERE r.buyer_debt_repaid > 0
                  UNION ALL
                  SELECT p.author_wallet_id, -p.author_debt_repaid FROM purchases p
                   WHERE p.author_debt_repaid > 0 AND p.royalty_terms_version IS NULL
                  UNION ALL
                  SELECT x.wallet_id, -x.debt_repaid FROM deposits x WHERE x.debt_repaid > 0
                  UNION ALL
                  SELECT x.wallet_id, -x.debt_repaid_cents FROM released_debt_repaid x) d
            JOIN chunk c ON c.id = d.wallet_id
           GROUP BY d.wallet_id
        ), compared AS (
          SELECT coalesce(c.id, l.wallet_id) AS wallet_id, c.id IS NULL AS orphan,
                 c.balance + coalesce(s.amount, 0) AS kept_balance, coalesce(l.amount, 0) AS ledger_balance,
                 coalesce(l.entries, 0) AS entries,
                 c.fractional_balance AS kept_carry, coalesce(r.carry, 0) AS ledger_carry,
                 c.debt AS kept_debt, coalesce(dt.debt, 0) AS ledger_debt
            FROM chunk c
            FULL JOIN ledger l ON l.wallet_id = c.id
            LEFT JOIN slots s ON s.wallet_id = c.id
            LEFT JOIN royalties r ON r.wallet_id = c.id
            LEFT JOIN debts dt ON dt.wallet_id = c.id
        )
        SELECT b.wallets, b.last_id, n.balance_drifts, n.carry_drifts, n.debt_drifts, n.orphans, d.*
          FROM bounds b
         CROSS JOIN (
           SELECT count(*) FILTER (WHERE NOT orphan AND kept_balance IS DISTINCT FROM ledger_balance)::int AS balance_drifts,
                  count(*) FILTER (WHERE NOT orphan AND kept_carry IS DISTINCT FROM ledger_carry)::int AS carry_drifts,
                  count(*) FILTER (WHERE NOT orphan AND kept_debt IS DISTINCT FROM ledger_debt)::int AS debt_drifts,
                  count(*) FILTER (WHERE orphan)::int AS orphans
             FROM compared
         ) n
          LEFT JOIN LATERAL (
            SELECT * FROM compared
             WHERE orphan OR kept_balance IS DISTINCT FROM ledger_balance OR kept_carry IS DISTINCT FROM ledger_carry
                OR kept_debt IS DISTINCT FROM ledger_debt
             ORDER BY wallet_id LIMIT ${detailLimit}
          ) d ON true`;
    });
    const head = firstRow(rows, 'the wallet comparison');
    return {
      walletsChecked: head.wallets,
      lastWalletId: head.last_id ?? undefined,
      balanceDriftCount: head.balance_drifts,
      carryDriftCount: head.carry_drifts,
      debtDriftCount: head.debt_drifts,
      orphanCount: head.orphans,
      drifts: detailRows<WalletCountColumns, WalletDriftColumns>(rows, 'wallet_id').map((row) => ({
        walletId: row.wallet_id,
        orphan: row.orphan,
        keptBalance: row.kept_balance === null ? null : toSafeInteger(row.kept_balance),
        ledgerBalance: toSafeInteger(row.ledger_balance),
        orphanEntries: row.orphan ? row.entries : 0,
        keptCarry: row.kept_carry,
        ledgerCarry: toSafeInteger(row.ledger_carry),
        keptDebt: row.kept_debt === null ? null : toSafeInteger(row.kept_debt),
        ledgerDebt: toSafeInteger(row.ledger_debt),
      })),
    };
  }

  /**
   * Sets the balance and carry of up to `walletLimit` wallets in (`after`, `upTo`] (id order) to
   * what the ledger says, where they differ. Each change is a delta measured in this statement's
   * snapshot (money functions may commit meanwhile: they move the ledger and the wallet alike, or
   * credit slots, which the delta leaves alone). The sums are taken before any lock; the drifted
   * rows are then locked in id order, as the money functions lock wallets, so the batch cannot
   * join a lock cycle, and only for the time the writes take. A balance that would turn negative
   * and a carry outside 0..99 are left as they are (and stay reported).
   */
  async fixWalletBatch(params: { after: string | undefined; upTo: string; walletLimit: number }): Promise<WalletFixBatch> {
    const { after, upTo, walletLimit } = params;
    const rows = await this.withTimeout((sql) => {
      const walletsAfter = after === undefined ? sql`` : sql`AND id > ${after}`;
      return sql<CountedRows<FixCountColumns, FixedColumns>>`
        WITH batch AS MATERIALIZED (
          SELECT id, balance, fractional_balance FROM wallets
           WHERE id <= ${upTo} ${walletsAfter} ORDER BY id LIMIT ${walletLimit}
        ), expected AS MATERIALIZED (
          SELECT b.id,
                 (SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e WHERE e.wallet_id = b.id)
                 - b.balance
                 - (SELECT coalesce(sum(s.balance), 0) FROM wallet_balance_slots s WHERE s.wallet_id = b.id) AS balance_diff,
                 -- As compareWalletChunk's royalties: a split purchase counts each payee's own part.
                 (SELECT coalesce(sum(p.item_price * p.royalty_percent) - 100 * sum(p.author_amount), 0)
                    FROM purchases p WHERE p.author_wallet_id = b.id AND p.royalty_terms_version IS NULL)
                 - (SELECT coalesce(sum(r.amount * r.royalty_percent) - 100 * sum(r.author_amount), 0)
                      FROM refunds r JOIN purchases p ON p.id = r.purchase_id
                     WHERE p.author_wallet_id = b.id AND p.royalty_terms_version IS NULL)
                 + (SELECT coalesce(sum(x.part_centi_cents) - 100 * sum(x.amount_cents), 0)
                      FROM purchase_payees x WHERE x.wallet_id = b.id)
                 - (SELECT coalesce(sum(x.part_centi_cents) - 100 * sum(x.amount_cents), 0)
                      FROM refund_payees x WHERE x.wallet_id = b.id)
                 - b.fractional_balance AS carry_diff
            FROM batch b
        ), locked AS MATERIALIZED (
          -- Row values here are the latest committed ones (read after the lock is granted).
          SELECT w.id,
                 x.balance_diff <> 0 AND w.balance + x.balance_diff >= 0 AS fix_balance,
                 x.carry_diff <> 0 AND w.fractional_balance + x.carry_diff BETWEEN 0 AND 99 AS fix_carry
            FROM wallets w JOIN expected x ON x.id = w.id
           WHERE x.balance_diff <> 0 OR x.carry_diff <> 0
           ORDER BY w.id
             FOR UPDATE OF w
        ), fixed AS (
          UPDATE wallets w
             SET balance = CASE WHEN l.fix_balance THEN w.balance + x.balance_diff ELSE w.balance END,
                 fractional_balance = CASE WHEN l.fix_carry THEN w.fractional_balance + x.carry_diff
                                           ELSE w.fractional_balance END,
                 updated_at = now()
            FROM expected x JOIN locked l ON l.id = x.id
           WHERE w.id = x.id AND (l.fix_balance OR l.fix_carry)
          RETURNING w.id, l.fix_balance, l.fix_carry
        )
        SELECT (SELECT count(*) FROM batch)::int AS examined,
               (SELECT id FROM batch ORDER BY id DESC LIMIT 1) AS last_id, f.*
          FROM (SELECT 1) one
          LEFT JOIN fixed f ON true`;
    });
    const head = firstRow(rows, 'the wallet fix');
    return {
      walletsExamined: head.examined,
      lastWalletId: head.last_id ?? undefined,
      fixed: detailRows<FixCountColumns, FixedColumns>(rows, 'id').map((row) => ({ walletId: row.id, balance: row.fix_balance, carry: row.fix_carry })),
    };
  }

  /**
   * Runs `work` in one REPEATABLE READ READ ONLY transaction, so that every statement made
   * through the snapshot it is given sees the same committed transactions: each one entirely or
   * not at all, however its entries fall across the id ranges read one statement at a time. A
   * read-only snapshot blocks no writer; each statement still aggregates one range in SQL.
   */
  withLedgerSnapshot<T>(work: (snapshot: LedgerSnapshot) => Promise<T>): Promise<T> {
    return longReadTransaction(this.database.sql, LEDGER_SNAPSHOT, (tx) => work(new LedgerSnapshot(tx)));
  }

  async entryIdBounds(snapshot: LedgerSnapshot): Promise<{ min: number; max: number } | undefined> {
    const [row] = await snapshot.sql<{ min: string | null; max: string | null }[]>`
      SELECT min(id)::text AS min, max(id)::text AS max FROM ledger_entries`;
    return row?.min == null || row.max == null ? undefined : { min: toSafeInteger(row.min), max: toSafeInteger(row.max) };
  }

  /** Entries with ids in [fromId, toId): their sum, and transactions not balanced within them. */
  async checkEntryRange(params: {
    snapshot: LedgerSnapshot;
    fromId: number;
    toId: number;
    candidateLimit: number;
  }): Promise<EntryRangeCheck> {
    const rows = await params.snapshot.sql<{ sum_cents: string; entries: number; candidates: string[] }[]>`
      WITH tx AS (
        SELECT transaction_id, sum(amount) AS total, count(*) AS entries
          FROM ledger_entries WHERE id >= ${params.fromId} AND id < ${params.toId}
         GROUP BY transaction_id
      )
      SELECT coalesce(sum(total), 0)::text AS sum_cents, coalesce(sum(entries), 0)::int AS entries,
             coalesce((SELECT array_agg(transaction_id)
                         FROM (SELECT transaction_id FROM tx WHERE total <> 0 LIMIT ${params.candidateLimit}) u),
                      '{}') AS candidates
        FROM tx`;
    const row = firstRow(rows, 'the entry range check');
    return { sumCents: BigInt(row.sum_cents), entries: row.entries, candidates: row.candidates };
  }

  /** Of the given transactions, those whose entries (all of them) do not sum to zero. */
  async unbalancedTransactions(
    snapshot: LedgerSnapshot,
    transactionIds: string[],
  ): Promise<{ transactionId: string; sumCents: number }[]> {
    if (transactionIds.length === 0) return [];
    const rows = await snapshot.sql<{ transaction_id: string; total: string }[]>`
      SELECT transaction_id, sum(amount)::text AS total
        FROM ledger_entries WHERE transaction_id = ANY(${transactionIds}::uuid[])
       GROUP BY transaction_id HAVING sum(amount) <> 0
       ORDER BY transaction_id`;
    return rows.map((row) => ({ transactionId: row.transaction_id, sumCents: toSafeInteger(row.total) }));
  }

  /**
   * The next `purchaseLimit` purchases after `after` (in id order) against their entries: the
   * buyer leg is -price, the author leg the author amount, the platform leg the platform amount,
   * a zero leg is absent, and nothing else is posted. Entries are compared per wallet id, because
   * the platform wallet may itself be the buyer or the author, so two legs name one wallet.
   * Details give each role's wallet its expected and posted sums (a wallet with two legs shows
   * both in each), and `other` what was posted to a wallet or account that no leg names.
   */
  async comparePurchaseChunk(params: {
    after: string | undefined;
    /** Only these purchases (ADR 0028): ids up to `upTo`, made at or after `createdFrom`. */
    keys?: ChunkKeys;
    purchaseLimit: number;
    detailLimit: number;
    platformWalletId: string | undefined;
  }): Promise<PurchaseChunk> {
    const { after, purchaseLimit, detailLimit } = params;
    const platform = params.platformWalletId ?? UUID_MAX;
    const rows = await this.withTimeout((sql) => {
      const purchasesAfter =
        after === undefined && params.keys === undefined
          ? sql``
          : sql`WHERE id > ${after ?? UUID_MIN} AND id <= ${params.keys?.upTo ?? UUID_MAX}
                  AND created_at >= ${params.keys?.createdFrom?.toISOString() ?? '-infinity'}::timestamptz`;
      return sql<CountedRows<PurchaseCountColumns, PurchaseDriftColumns>>`
        WITH chunk AS (
          SELECT id, buyer_wallet_id, author_wallet_id, item_price, author_amount, platform_amount, author_debt_repaid,
                 platform_debt_repaid, platform_debt, royalty_terms_version, paid_from_hold
            FROM purchases ${purchasesAfter} ORDER BY id LIMIT ${purchaseLimit}
        ), legs AS (
          -- Royalty cents that repaid the author's debt go to receivables (no wallet id), and so do
          -- the platform's cents that repaid its own; receivables fronts what became the platform's
          -- debt. A split purchase's author side is its payees'
          -- legs (ADR 0045). A capture's price leaves the holds account, not the buyer's wallet (ADR 0018).
          SELECT c.id, leg.wallet_id, leg.amount
            FROM chunk c CROSS JOIN LATERAL (
              VALUES (CASE WHEN c.paid_from_hold THEN NULL ELSE c.buyer_wallet_id END, -c.item_price),
                     (c.author_wallet_id, CASE WHEN c.royalty_terms_version IS NULL THEN c.author_amount - c.author_debt_repaid ELSE 0 END),
                     (NULL::uuid, CASE WHEN c.royalty_terms_version IS NULL THEN c.author_debt_repaid ELSE 0 END),
                     (${platform}::uuid, c.platform_amount - c.platform_debt_repaid + c.platform_debt),
                     (NULL::uuid, c.platform_debt_repaid - c.platform_debt)
            ) AS leg (wallet_id, amount)
           WHERE leg.amount <> 0
          UNION ALL
          SELECT x.purchase_id, leg.wallet_id, leg.amount
            FROM chunk c JOIN purchase_payees x ON x.purchase_id = c.id
           CROSS JOIN LATERAL (VALUES (x.wallet_id, x.amount_cents - x.debt_repaid_cents), (NULL::uuid, x.debt_repaid_cents))
             AS leg (wallet_id, amount)
           WHERE c.royalty_terms_version IS NOT NULL AND leg.amount <> 0
        ), expected AS (
          SELECT id, wallet_id, sum(amount)::bigint AS amount, count(*)::int AS legs FROM legs GROUP BY id, wallet_id
        ), posted AS (
          SELECT e.transaction_id AS id, e.wallet_id, sum(e.amount)::bigint AS amount, count(*)::int AS legs
            FROM chunk c JOIN ledger_entries e ON e.transaction_id = c.id
           GROUP BY e.transaction_id, e.wallet_id
        ), mismatched AS (
          -- Entries to a system account (no wallet id) match only the receivables leg.
          SELECT DISTINCT coalesce(x.id, p.id) AS id
            FROM expected x FULL JOIN posted p ON p.id = x.id AND p.wallet_id IS NOT DISTINCT FROM x.wallet_id
           WHERE (x.amount, x.legs) IS DISTINCT FROM (p.amount, p.legs)
        ), detailed AS (
          SELECT c.*, x.*, y.*
            FROM (SELECT id FROM mismatched ORDER BY id LIMIT ${detailLimit}) m
            JOIN chunk c ON c.id = m.id
           CROSS JOIN LATERAL (
             SELECT coalesce(sum(l.amount) FILTER (WHERE l.wallet_id = c.buyer_wallet_id), 0)::bigint AS buyer_expected,
                    coalesce(sum(l.amount) FILTER (WHERE l.wallet_id = c.author_wallet_id), 0)::bigint AS author_expected,
                    coalesce(sum(l.amount) FILTER (WHERE l.wallet_id = ${platform}::uuid), 0)::bigint AS platform_expected,
                    coalesce(sum(l.amount) FILTER (WHERE l.wallet_id IS NULL), 0)::bigint AS other_expected,
                    count(*)::int AS expected_legs
               FROM legs l WHERE l.id = c.id
           ) x
           CROSS JOIN LATERAL (
             SELECT coalesce(sum(e.amount) FILTER (WHERE e.wallet_id = c.buyer_wallet_id), 0)::bigint AS buyer_posted,
                    coalesce(sum(e.amount) FILTER (WHERE e.wallet_id = c.author_wallet_id), 0)::bigint AS author_posted,
                    coalesce(sum(e.amount) FILTER (WHERE e.wallet_id = ${platform}::uuid), 0)::bigint AS platform_posted,
                    coalesce(sum(e.amount) FILTER (
                      WHERE e.wallet_id IS NULL OR e.wallet_id NOT IN (c.buyer_wallet_id, c.author_wallet_id, ${platform}::uuid)
                    ), 0)::bigint AS other_posted,
                    count(*)::int AS posted_legs
               FROM ledger_entries e WHERE e.transaction_id = c.id
           ) y
        )
        SELECT (SELECT count(*) FROM chunk)::int AS purchases,
               (SELECT id FROM chunk ORDER BY id DESC LIMIT 1) AS last_id,
               (SELECT count(*) FROM mismatched)::int AS drift_count, d.*
          FROM (SELECT 1) one
          LEFT JOIN LATERAL (SELECT * FROM detailed ORDER BY id) d ON true`;
    });
    const head = firstRow(rows, 'the purchase comparison');
    return {
      purchasesChecked: head.purchases,
      lastPurchaseId: head.last_id ?? undefined,
      driftCount: head.drift_count,
      drifts: detailRows<PurchaseCountColumns, PurchaseDriftColumns>(rows, 'id').map((row) => ({
        purchaseId: row.id,
        expected: {
          buyer: toSafeInteger(row.buyer_expected),
          author: toSafeInteger(row.author_expected),
          platform: toSafeInteger(row.platform_expected),
          other: toSafeInteger(row.other_expected),
          legs: row.expected_legs,
        },
        posted: {
          buyer: toSafeInteger(row.buyer_posted),
          author: toSafeInteger(row.author_posted),
          platform: toSafeInteger(row.platform_posted),
          other: toSafeInteger(row.other_posted),
          legs: row.posted_legs,
        },
      })),
    };
  }
  /**
   * The next `refundLimit` refunds after `after` (in id order) against their entries, by party:
   * the buyer gets the amount less the debt it repaid, the author and the platform give up their
   * parts less what became their debt, receivables take the difference, nothing else is posted.
   * A wallet that plays two parts (the platform buying) shows the sum in each. Each refund's
   * purchase is also checked to be refunded no more than its price.
   */
  async compareRefundChunk(params: {
    after: string | undefined;
    /** Only these refunds (ADR 0028): ids up to `upTo`, made at or after `createdFrom`. */
    keys?: ChunkKeys;
    refundLimit: number;
    detailLimit: number;
    platformWalletId: string | undefined;
  }): Promise<RefundChunk> {
    const { after, refundLimit, detailLimit } = params;
    const platform = params.platformWalletId ?? UUID_MAX;
    const rows = await this.withTimeout((sql) => {
      const refundsAfter =
        after === undefined && params.keys === undefined
          ? sql``
          : sql`WHERE r.id > ${after ?? UUID_MIN} AND r.id <= ${params.keys?.upTo ?? UUID_MAX}
                  AND r.created_at >= ${params.keys?.createdFrom?.toISOString() ?? '-infinity'}::timestamptz`;
      return sql<CountedRows<RefundCountColumns, RefundDriftColumns>>`
        WITH chunk AS (
          SELECT r.id, r.purchase_id, r.amount, r.author_amount, r.platform_amount, r.author_debt, r.platform_debt,
                 r.platform_debt_repaid, r.buyer_debt_repaid, p.buyer_wallet_id, p.author_wallet_id, p.item_price, r.royalty_terms_version,
                 (SELECT sum(o.amount) FROM refunds o WHERE o.purchase_id = r.purchase_id)::bigint AS refunded
            FROM refunds r JOIN purchases p ON p.id = r.purchase_id ${refundsAfter}
           ORDER BY r.id LIMIT ${refundLimit}
        ), parts AS (
          -- A split refund's author side is its payees' legs (ADR 0045): the first payee is the
          -- purchase's author, the others post beside it, and their debts go to receivables.
          SELECT c.*, c.amount - c.buyer_debt_repaid AS buyer_part,
                 CASE WHEN c.royalty_terms_version IS NULL THEN c.author_debt - c.author_amount ELSE s.lead_part END AS author_part,
                 coalesce(s.others_part, 0) AS others_part,
                 CASE WHEN c.royalty_terms_version IS NULL THEN -c.author_debt ELSE s.receivables_part END AS payee_receivables_part,
                 c.platform_debt - c.platform_amount - c.platform_debt_repaid AS platform_part
            FROM chunk c
            LEFT JOIN LATERAL (
              SELECT coalesce(sum(x.debt_cents - x.amount_cents - x.debt_repaid_cents) FILTER (WHERE x.position = 1), 0) AS lead_part,
                     coalesce(sum(x.debt_cents - x.amount_cents - x.debt_repaid_cents) FILTER (WHERE x.position > 1), 0) AS others_part,
                     coalesce(sum(x.debt_repaid_cents - x.debt_cents), 0) AS receivables_part
                FROM refund_payees x WHERE x.refund_id = c.id
            ) s ON c.royalty_terms_version IS NOT NULL
        ), compared AS (
          -- Postings are summed per wallet, so a wallet with two parts (the platform buying, or
          -- selling) expects both; a buyer is never its own author.
          SELECT c.id, c.purchase_id, c.refunded, c.item_price,
                 (c.buyer_part + CASE WHEN ${platform}::uuid = c.buyer_wallet_id THEN c.platform_part ELSE 0 END)::bigint
                   AS buyer_expected,
                 (c.author_part + CASE WHEN ${platform}::uuid = c.author_wallet_id THEN c.platform_part ELSE 0 END)::bigint
                   AS author_expected,
                 (c.platform_part + CASE WHEN ${platform}::uuid = c.buyer_wallet_id THEN c.buyer_part ELSE 0 END
                  + CASE WHEN ${platform}::uuid = c.author_wallet_id THEN c.author_part ELSE 0 END)::bigint AS platform_expected,
                 (c.buyer_debt_repaid + c.payee_receivables_part + c.platform_debt_repaid - c.platform_debt)::bigint
                   AS receivables_expected,
                 c.others_part::bigint AS other_expected,
                 y.*
            FROM parts c
           CROSS JOIN LATERAL (
             SELECT coalesce(sum(e.amount) FILTER (WHERE e.wallet_id = c.buyer_wallet_id), 0)::bigint AS buyer_posted,
                    coalesce(sum(e.amount) FILTER (WHERE e.wallet_id = c.author_wallet_id), 0)::bigint AS author_posted,
                    coalesce(sum(e.amount) FILTER (WHERE e.wallet_id = ${platform}::uuid), 0)::bigint AS platform_posted,
                    coalesce(sum(e.amount) FILTER (WHERE e.system_account = 'receivables'), 0)::bigint AS receivables_posted,
                    coalesce(sum(e.amount) FILTER (
                      WHERE coalesce(e.system_account, '') <> 'receivables'
                        AND (e.wallet_id IS NULL
                             OR e.wallet_id NOT IN (c.buyer_wallet_id, c.author_wallet_id, ${platform}::uuid))
                    ), 0)::bigint AS other_posted
               FROM ledger_entries e WHERE e.transaction_id = c.id
           ) y
        ), drift AS (
          SELECT * FROM compared
           WHERE refunded > item_price
              OR (buyer_posted, author_posted, platform_posted, receivables_posted, other_posted)
                 IS DISTINCT FROM (buyer_expected, author_expected, platform_expected, receivables_expected, other_expected)
        )
        SELECT (SELECT count(*) FROM chunk)::int AS refunds,
               (SELECT id FROM chunk ORDER BY id DESC LIMIT 1) AS last_id,
               (SELECT count(*) FROM drift)::int AS drift_count, d.*
          FROM (SELECT 1) one
          LEFT JOIN LATERAL (SELECT * FROM drift ORDER BY id LIMIT ${detailLimit}) d ON true`;
    });
    const head = firstRow(rows, 'the refund comparison');
    return {
      refundsChecked: head.refunds,
      lastRefundId: head.last_id ?? undefined,
      driftCount: head.drift_count,
      drifts: detailRows<RefundCountColumns, RefundDriftColumns>(rows, 'id').map((row) => ({
        refundId: row.id,
        purchaseId: row.purchase_id,
        refundedCents: toSafeInteger(row.refunded),
        itemPriceCents: toSafeInteger(row.item_price),
        expected: {
          buyer: toSafeInteger(row.buyer_expected),
          author: toSafeInteger(row.author_expected),
          platform: toSafeInteger(row.platform_expected),
          receivables: toSafeInteger(row.receivables_expected),
          other: toSafeInteger(row.other_expected),
        },
        posted: {
          buyer: toSafeInteger(row.buyer_posted),
          author: toSafeInteger(row.author_posted),
          platform: toSafeInteger(row.platform_posted),
          receivables: toSafeInteger(row.receivables_posted),
          other: toSafeInteger(row.other_posted),
        },
      })),
    };
  }

  /**
   * The next `limit` position snapshots (ADR 0068) after `cursor` in (wallet, as_of) order, up
   * to wallet `upTo`, each against its wallet's ledger: the expected figures are the cursor's
   * (for its wallet; zero for the others) plus wallet_position_added over each span between
   * consecutive snapshots, so a wallet's history is read once across the chunks. A snapshot
   * that differs is deleted in the same statement (a derived cache: reads then start from the
   * snapshot before it). The sweep's row lock is taken first, so that no sweep builds a new
   * snapshot on a wrong one while this one looks.
   */
  async checkPositionSnapshots(params: {
    cursor: PositionCursor;
    upTo: string;
    limit: number;
  }): Promise<PositionSnapshotCheck[]> {
    const { cursor, upTo, limit } = params;
    const rows = await this.withTimeout(async (sql) => {
      await sql`SELECT 1 FROM wallet_position_sweep WHERE id = 1 FOR UPDATE`;
      return sql<PositionSnapshotColumns[]>`
        WITH chunk AS MATERIALIZED (
          SELECT s.wallet_id, s.as_of, s.balance_cents, s.carry_centi_cents, s.postings
            FROM wallet_position_snapshots s
           WHERE (s.wallet_id, s.as_of) > (${cursor.walletId}::uuid, ${cursor.asOf}::timestamptz) AND s.wallet_id <= ${upTo}::uuid
           ORDER BY s.wallet_id, s.as_of
           LIMIT ${limit}
        ), spans AS MATERIALIZED (
          SELECT c.*, d.balance_cents AS span_balance, d.carry_centi_cents AS span_carry, d.postings AS span_postings
            FROM (SELECT c.*, coalesce(lag(c.as_of) OVER (PARTITION BY c.wallet_id ORDER BY c.as_of),
                                       CASE WHEN c.wallet_id = ${cursor.walletId}::uuid THEN ${cursor.asOf}::timestamptz
                                            ELSE '-infinity'::timestamptz END) AS after
                    FROM chunk c) c
           CROSS JOIN LATERAL wallet_position_added(p_wallet_id => c.wallet_id, p_after => c.after, p_at => c.as_of) d
        ), expected AS MATERIALIZED (
          SELECT s.wallet_id, s.as_of, s.balance_cents, s.carry_centi_cents, s.postings,
                 sum(s.span_balance) OVER w + CASE WHEN s.wallet_id = ${cursor.walletId}::uuid THEN ${cursor.balanceCents}::bigint ELSE 0 END AS expected_balance,
                 sum(s.span_carry) OVER w + CASE WHEN s.wallet_id = ${cursor.walletId}::uuid THEN ${cursor.carryCentiCents}::bigint ELSE 0 END AS expected_carry,
                 sum(s.span_postings) OVER w + CASE WHEN s.wallet_id = ${cursor.walletId}::uuid THEN ${cursor.postings}::bigint ELSE 0 END AS expected_postings
            FROM spans s
          WINDOW w AS (PARTITION BY s.wallet_id ORDER BY s.as_of)
        ), removed AS (
          DELETE FROM wallet_position_snapshots s USING expected x
           WHERE s.wallet_id = x.wallet_id AND s.as_of = x.as_of
             AND (x.balance_cents, x.carry_centi_cents, x.postings) IS DISTINCT FROM (x.expected_balance, x.expected_carry, x.expected_postings)
          RETURNING s.wallet_id, s.as_of
        )
        SELECT x.wallet_id, x.as_of, x.balance_cents::text, x.carry_centi_cents::text, x.postings::text,
               x.expected_balance::text, x.expected_carry::text, x.expected_postings::text, r.wallet_id IS NOT NULL AS removed
          FROM expected x LEFT JOIN removed r ON r.wallet_id = x.wallet_id AND r.as_of = x.as_of
         ORDER BY x.wallet_id, x.as_of`;
    });
    return rows.map((row) => ({
      walletId: row.wallet_id,
      asOf: toDate(row.as_of),
      kept: { balance: toSafeInteger(row.balance_cents), fractionalBalance: toSafeInteger(row.carry_centi_cents), postings: toSafeInteger(row.postings) },
      ledger: {
        balance: toSafeInteger(row.expected_balance),
        fractionalBalance: toSafeInteger(row.expected_carry),
        postings: toSafeInteger(row.expected_postings),
      },
      removed: row.removed,
    }));
  }
}
