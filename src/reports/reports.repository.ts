import { Injectable } from '@nestjs/common';
import { and, asc, eq, inArray, lt } from 'drizzle-orm';
import { Database } from '../db/database';
import { longReadTransaction, ReadTransaction } from '../db/long-read-transaction';
import { financialReports } from '../db/schema';
import { firstRow, toDate, toSafeInteger } from '../db/sql-values';
import { Period, PeriodSegments, splitWholeDays } from './report-period';

const REPORT_STATUSES = ['queued', 'processing', 'completed', 'failed'] as const;
export type ReportStatus = (typeof REPORT_STATUSES)[number];

export interface FinancialReportRow {
  id: string;
  requestedBy: string;
  status: ReportStatus;
  periodFrom: Date | null;
  periodTo: Date | null;
  result: unknown;
  error: string | null;
  createdAt: Date;
  completedAt: Date | null;
}

export interface FinancialFigures {
  depositedCents: number;
  withdrawnCents: number;
  purchaseVolumeCents: number;
  royaltiesCents: number;
  platformRevenueCents: number;
  purchaseCount: number;
  refundedCents: number;
  royaltiesRefundedCents: number;
  platformRevenueRefundedCents: number;
  refundCount: number;
  /** Payouts that left the pending account (ADR 0018): settled, or failed back to the wallet. */
  payoutsPaidCents: number;
  payoutsFailedCents: number;
}

/** The financial figures of a period (or all time), and what wallets owe when they are read. */
export interface FinancialSnapshot {
  figures: FinancialFigures;
  outstandingDebtCents: number;
  /** Cents in authorized holds when the report was read (ADR 0018): a balance, like the debt. */
  heldCents: number;
  generatedAt: Date;
}

export interface AuthorFigures {
  salesCount: number;
  grossVolumeCents: number;
  /** Royalty cents credited for the sales, before refunds. */
  royaltyCents: number;
  refundedVolumeCents: number;
  /** Royalty cents taken back by refunds (including cents that became debt). */
  royaltyRefundedCents: number;
  carryCentiCents: number;
}

export interface AuthorRanking {
  authorWalletId: string;
  salesCount: number;
  grossVolumeCents: number;
  royaltyCents: number;
  refundedVolumeCents: number;
  royaltyRefundedCents: number;
}

/** A report's statements run under their own, tighter bound than the pool's default. */
const REPORT_STATEMENT_TIMEOUT_MS = 10_000;

const reportColumns = {
  id: financialReports.id,
  requestedBy: financialReports.requestedBy,
  status: financialReports.status,
  periodFrom: financialReports.periodFrom,
  periodTo: financialReports.periodTo,
  result: financialReports.result,
  error: financialReports.error,
  createdAt: financialReports.createdAt,
  completedAt: financialReports.completedAt,
};

function toReportRow(row: Pick<typeof financialReports.$inferSelect, keyof typeof reportColumns>): FinancialReportRow {
  return { ...row, status: reportStatusOf(row.status) };
}

/** The stored status, which a CHECK constraint keeps to the known values. */
function reportStatusOf(value: string): ReportStatus {
  const status = REPORT_STATUSES.find((known) => known === value);
  if (status === undefined) throw new Error(`unknown report status: ${value}`);
  return status;
}

interface TotalsSqlRow {
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

const ZERO_TOTALS: TotalsSqlRow = {
  payouts_paid: '0',
  payouts_failed: '0',
  deposited: '0',
  withdrawn: '0',
  purchase_volume: '0',
  royalties: '0',
  platform_revenue: '0',
  purchase_count: '0',
  refunded: '0',
  royalties_refunded: '0',
  platform_revenue_refunded: '0',
  refund_count: '0',
};

@Injectable()
export class ReportsRepository {
  constructor(private readonly database: Database) {}

  async insertReport({ requestedBy, period }: { requestedBy: string; period: Period | null }): Promise<FinancialReportRow> {
    const rows = await this.database.db
      .insert(financialReports)
      .values({ requestedBy, status: 'queued', periodFrom: period?.from ?? null, periodTo: period?.to ?? null })
      .returning(reportColumns);
    return toReportRow(firstRow(rows, 'the report insert'));
  }

  async findReport(reportId: string): Promise<FinancialReportRow | undefined> {
    const [row] = await this.database.db.select(reportColumns).from(financialReports).where(eq(financialReports.id, reportId));
    return row ? toReportRow(row) : undefined;
  }

  /**
   * Moves a report to processing, unless it already finished (a duplicate or late job); a
   * retry of a report that was processing claims it again. Undefined when there is nothing to do.
   */
  async claimReport(reportId: string): Promise<{ periodFrom: Date | null; periodTo: Date | null } | undefined> {
    const [row] = await this.database.db
      .update(financialReports)
      .set({ status: 'processing', startedAt: new Date() })
      .where(and(eq(financialReports.id, reportId), inArray(financialReports.status, ['queued', 'processing'])))
      .returning({ periodFrom: financialReports.periodFrom, periodTo: financialReports.periodTo });
    return row;
  }

  async completeReport(reportId: string, result: object): Promise<boolean> {
    const rows = await this.database.db
      .update(financialReports)
      .set({ status: 'completed', result, error: null, completedAt: new Date() })
      .where(and(eq(financialReports.id, reportId), eq(financialReports.status, 'processing')))
      .returning({ id: financialReports.id });
    return rows.length > 0;
  }

  /** Ends a report that has not completed; a completed report keeps its result. */
  /** Reports still waiting or being computed that were requested before `createdBefore`, oldest first. */
  async findUnfinishedReports({ createdBefore, limit }: { createdBefore: Date; limit: number }): Promise<{ id: string; createdAt: Date }[]> {
    return this.database.db
      .select({ id: financialReports.id, createdAt: financialReports.createdAt })
      .from(financialReports)
      .where(and(inArray(financialReports.status, ['queued', 'processing']), lt(financialReports.createdAt, createdBefore)))
      .orderBy(asc(financialReports.createdAt))
      .limit(limit);
  }

  async failReport(reportId: string, error: string): Promise<boolean> {
    const rows = await this.database.db
      .update(financialReports)
      .set({ status: 'failed', error, completedAt: new Date() })
      .where(and(eq(financialReports.id, reportId), inArray(financialReports.status, ['queued', 'processing'])))
      .returning({ id: financialReports.id });
    return rows.length > 0;
  }

  /**
   * All-time figures from the running totals (16 slot rows), or a period's figures from the
   * hourly rollups plus the ledger rows of its partial edge hours; one snapshot either way.
   */
  async readFinancialFigures(segments: PeriodSegments | null): Promise<FinancialSnapshot> {
    return this.snapshot(async (sql) => {
      // Debt is a balance at the snapshot, whatever the period; only wallets in debt are read.
      const clock = firstRow(
        await sql<{ now: string; outstanding_debt: string; held: string }[]>`
          SELECT now()::timestamptz(3)::text AS now,
                 (SELECT coalesce(sum(debt), 0) FROM wallets WHERE debt > 0)::text AS outstanding_debt,
                 (SELECT coalesce(sum(amount), 0) FROM holds WHERE status = 'authorized')::text AS held`,
        'the clock',
      );
      const generatedAt = toDate(clock.now);
      const outstandingDebtCents = toSafeInteger(clock.outstanding_debt);
      const heldCents = toSafeInteger(clock.held);
      if (segments === null) {
        const totals = firstRow(await sql<TotalsSqlRow[]>`SELECT ${totalsSums(sql)} FROM running_totals`, 'the running totals');
        return { figures: toFigures(totals), outstandingDebtCents, heldCents, generatedAt };
      }
      const { wholeBuckets } = segments;
      const whole = wholeBuckets
        ? firstRow(
            await sql<TotalsSqlRow[]>`
              SELECT ${totalsSums(sql)} FROM hourly_rollups WHERE ${inRanges(sql, 'bucket_start', [wholeBuckets])}`,
            'the hourly rollups',
          )
        : ZERO_TOTALS;
      // Each edge lies within one hour, so these read at most two hours of ledger rows: funding
      // and payout postings through their partial index, purchases through created_at. Withdrawn
      // is what reached the payout and payouts_pending accounts (ADR 0018), paid the payout account.
      const moves = firstRow(
        await sql<Pick<TotalsSqlRow, 'deposited' | 'withdrawn' | 'payouts_paid' | 'payouts_failed'>[]>`
          SELECT coalesce(sum(-amount) FILTER (WHERE system_account = 'funding'), 0)::text AS deposited,
                 coalesce(sum(amount) FILTER (WHERE system_account IN ('payout', 'payouts_pending')), 0)::text AS withdrawn,
                 coalesce(sum(amount) FILTER (WHERE system_account = 'payout'), 0)::text AS payouts_paid,
                 (SELECT coalesce(sum(amount), 0) FROM withdrawal_outcomes
                   WHERE status = 'failed' AND (${inRanges(sql, 'created_at', segments.edges)}))::text AS payouts_failed
            FROM ledger_entries
           WHERE system_account IS NOT NULL AND (${inRanges(sql, 'created_at', segments.edges)})`,
        'the edge postings',
      );
      const sales = firstRow(
        await sql<Pick<TotalsSqlRow, 'purchase_volume' | 'royalties' | 'platform_revenue' | 'purchase_count'>[]>`
          SELECT coalesce(sum(item_price), 0)::text AS purchase_volume, coalesce(sum(author_amount), 0)::text AS royalties,
                 coalesce(sum(platform_amount), 0)::text AS platform_revenue, count(*)::text AS purchase_count
            FROM purchases
           WHERE ${inRanges(sql, 'created_at', segments.edges)}`,
        'the edge purchases',
      );
      const refunded = firstRow(
        await sql<Pick<TotalsSqlRow, 'refunded' | 'royalties_refunded' | 'platform_revenue_refunded' | 'refund_count'>[]>`
          SELECT coalesce(sum(amount), 0)::text AS refunded, coalesce(sum(author_amount), 0)::text AS royalties_refunded,
                 coalesce(sum(platform_amount), 0)::text AS platform_revenue_refunded, count(*)::text AS refund_count
            FROM refunds
           WHERE ${inRanges(sql, 'created_at', segments.edges)}`,
        'the edge refunds',
      );
      const a = toFigures(whole);
      const b = toFigures({ ...moves, ...sales, ...refunded });
      return { figures: addFigures(a, b), outstandingDebtCents, heldCents, generatedAt };
    });
  }

  /**
   * One author's sales: whole days and hours from the author rollups (all of the author's days
   * when there is no period), edges from the author's purchases and its own parts of split
   * purchases, and the current carry.
   */
  async readAuthorFigures(authorWalletId: string, segments: PeriodSegments | null): Promise<AuthorFigures | undefined> {
    return this.snapshot(async (sql) => {
      const [wallet] = await sql<{ fractional_balance: number }[]>`
        SELECT fractional_balance FROM wallets WHERE id = ${authorWalletId}`;
      if (!wallet) return undefined;
      const rolled =
        segments === null
          ? sql`SELECT author_wallet_id, sales_count, gross_volume, royalty, refunded_volume, royalty_refunded
                  FROM author_daily_rollups WHERE author_wallet_id = ${authorWalletId}`
          : authorRollupRows(sql, segments, authorWalletId);
      const edges = segments?.edges ?? [];
      const sales = firstRow(
        await sql<AuthorSalesSqlRow[]>`
          WITH sales AS (
            SELECT sales_count, gross_volume, royalty, refunded_volume, royalty_refunded FROM (${rolled}) rolled
            UNION ALL
            SELECT sales_count, gross_volume, royalty, refunded_volume, royalty_refunded
              FROM (${edgeSales(sql, edges, { authorWalletId })}) edge
          )
          SELECT coalesce(sum(sales_count), 0)::text AS sales_count, coalesce(sum(gross_volume), 0)::text AS gross_volume,
                 coalesce(sum(royalty), 0)::text AS royalty, coalesce(sum(refunded_volume), 0)::text AS refunded_volume,
                 coalesce(sum(royalty_refunded), 0)::text AS royalty_refunded
            FROM sales`,
        "the author's sales",
      );
      return { ...toAuthorSales(sales), carryCentiCents: wallet.fractional_balance };
    });
  }

  /**
   * Authors (each payee of a split purchase with its own part) ranked by royalties in the period;
   * ties by wallet id, so the order is total. With `itemId`, only that item's sales and refunds:
   * whole hours from the item rollups (ADR 0066), edges from the item's purchases.
   */
  async topAuthors(segments: PeriodSegments, limit: number, itemId?: string): Promise<AuthorRanking[]> {
    return this.snapshot(async (sql) => {
      const rolled =
        itemId === undefined
          ? authorRollupRows(sql, segments)
          : sql`
              SELECT author_wallet_id, sales_count, gross_volume, royalty, refunded_volume, royalty_refunded
                FROM item_author_hourly_rollups
               WHERE item_id = ${itemId} AND (${inRanges(sql, 'bucket_start', segments.wholeBuckets ? [segments.wholeBuckets] : [])})`;
      // Ranked by royalties net of refunds: what the author kept of the period's activity.
      const rows = await sql<(AuthorSalesSqlRow & { author_wallet_id: string })[]>`
        WITH sales AS (
          SELECT author_wallet_id, sales_count, gross_volume, royalty, refunded_volume, royalty_refunded
            FROM (${rolled}) rolled
          UNION ALL
          SELECT author_wallet_id, sales_count, gross_volume, royalty, refunded_volume, royalty_refunded
            FROM (${edgeSales(sql, segments.edges, { itemId })}) edge
        )
        SELECT author_wallet_id, sum(sales_count)::text AS sales_count, sum(gross_volume)::text AS gross_volume,
               sum(royalty)::text AS royalty, sum(refunded_volume)::text AS refunded_volume,
               sum(royalty_refunded)::text AS royalty_refunded
          FROM sales
         GROUP BY author_wallet_id
         ORDER BY sum(royalty) - sum(royalty_refunded) DESC, author_wallet_id ASC
         LIMIT ${limit}`;
      return rows.map((row) => ({ authorWalletId: row.author_wallet_id, ...toAuthorSales(row) }));
    });
  }

  /** One snapshot for everything a report reads; read-only, so it never blocks or aborts writers. */
  private snapshot<T>(work: (sql: ReadTransaction) => Promise<T>): Promise<T> {
    // Figures may come from the replica, at most READ_REPLICA_MAX_LAG_MS behind (ADR 0053).
    return longReadTransaction(this.database.reader().sql, { statementTimeoutMs: REPORT_STATEMENT_TIMEOUT_MS, isolation: 'snapshot' }, work);
  }
}

function totalsSums(sql: ReadTransaction) {
  return sql`
    coalesce(sum(deposited), 0)::text AS deposited, coalesce(sum(withdrawn), 0)::text AS withdrawn,
    coalesce(sum(purchase_volume), 0)::text AS purchase_volume, coalesce(sum(royalties), 0)::text AS royalties,
    coalesce(sum(platform_revenue), 0)::text AS platform_revenue, coalesce(sum(purchase_count), 0)::text AS purchase_count,
    coalesce(sum(refunded), 0)::text AS refunded, coalesce(sum(royalties_refunded), 0)::text AS royalties_refunded,
    coalesce(sum(platform_revenue_refunded), 0)::text AS platform_revenue_refunded,
    coalesce(sum(refund_count), 0)::text AS refund_count,
    coalesce(sum(payouts_paid), 0)::text AS payouts_paid, coalesce(sum(payouts_failed), 0)::text AS payouts_failed`;
}

interface AuthorSalesSqlRow {
  sales_count: string;
  gross_volume: string;
  royalty: string;
  refunded_volume: string;
  royalty_refunded: string;
}

function toAuthorSales(row: AuthorSalesSqlRow): Omit<AuthorFigures, 'carryCentiCents'> {
  return {
    salesCount: toSafeInteger(row.sales_count),
    grossVolumeCents: toSafeInteger(row.gross_volume),
    royaltyCents: toSafeInteger(row.royalty),
    refundedVolumeCents: toSafeInteger(row.refunded_volume),
    royaltyRefundedCents: toSafeInteger(row.royalty_refunded),
  };
}

/**
 * The author rollup rows covering a period's whole hours: one row per author and day from
 * author_daily_rollups for the whole UTC days, author_hourly_rollups for the (at most two) runs
 * of hours around them. Columns: author_wallet_id, sales_count, gross_volume, royalty,
 * refunded_volume, royalty_refunded.
 */
function authorRollupRows(sql: ReadTransaction, segments: PeriodSegments, authorWalletId?: string) {
  const { wholeDays, hours } = segments.wholeBuckets ? splitWholeDays(segments.wholeBuckets) : { wholeDays: null, hours: [] };
  const ofAuthor = authorWalletId === undefined ? sql`` : sql`AND author_wallet_id = ${authorWalletId}`;
  return sql`
    SELECT author_wallet_id, sales_count, gross_volume, royalty, refunded_volume, royalty_refunded FROM author_daily_rollups
     WHERE (${inRanges(sql, 'day_start', wholeDays ? [wholeDays] : [])}) ${ofAuthor}
    UNION ALL
    SELECT author_wallet_id, sales_count, gross_volume, royalty, refunded_volume, royalty_refunded FROM author_hourly_rollups
     WHERE (${inRanges(sql, 'bucket_start', hours)}) ${ofAuthor}`;
}

/**
 * Sales and refunds in the edges (each within one hour), as the author rollups count them: a
 * one-author purchase for its author, a split purchase (ADR 0045) for each payee with its own
 * part from purchase_payees and refund_payees; refunded volume is the whole refund for each, as
 * each payee's gross volume is the whole price. Optionally one author's (or payee's), or one
 * item's. Columns: author_wallet_id, sales_count, gross_volume, royalty, refunded_volume,
 * royalty_refunded.
 */
function edgeSales(sql: ReadTransaction, edges: readonly Period[], only: { authorWalletId?: string; itemId?: string }) {
  const { authorWalletId, itemId } = only;
  const purchaseOf = itemId === undefined ? sql`` : sql`AND p.item_id = ${itemId}`;
  const soleAuthor = authorWalletId === undefined ? sql`` : sql`AND p.author_wallet_id = ${authorWalletId}`;
  const payee = authorWalletId === undefined ? sql`` : sql`AND x.wallet_id = ${authorWalletId}`;
  return sql`
    SELECT p.author_wallet_id, 1::bigint AS sales_count, p.item_price AS gross_volume, p.author_amount AS royalty,
           0::bigint AS refunded_volume, 0::bigint AS royalty_refunded
      FROM purchases p
     WHERE p.royalty_terms_version IS NULL ${soleAuthor} ${purchaseOf} AND (${inRanges(sql, 'p.created_at', edges)})
    UNION ALL
    SELECT x.wallet_id, 1::bigint, p.item_price, x.amount_cents, 0::bigint, 0::bigint
      FROM purchases p JOIN purchase_payees x ON x.purchase_id = p.id
     WHERE p.royalty_terms_version IS NOT NULL ${payee} ${purchaseOf} AND (${inRanges(sql, 'p.created_at', edges)})
    UNION ALL
    SELECT p.author_wallet_id, 0::bigint, 0::bigint, 0::bigint, r.amount, r.author_amount
      FROM refunds r JOIN purchases p ON p.id = r.purchase_id
     WHERE r.royalty_terms_version IS NULL ${soleAuthor} ${purchaseOf} AND (${inRanges(sql, 'r.created_at', edges)})
    UNION ALL
    SELECT x.wallet_id, 0::bigint, 0::bigint, 0::bigint, r.amount, x.amount_cents
      FROM refunds r JOIN refund_payees x ON x.refund_id = r.id JOIN purchases p ON p.id = r.purchase_id
     WHERE r.royalty_terms_version IS NOT NULL ${payee} ${purchaseOf} AND (${inRanges(sql, 'r.created_at', edges)})`;
}

/**
 * `column` within any of the half-open ranges, as plain range conditions (an index range scan
 * each); `false` for none. Only the ranges present are written: a NULL placeholder for an absent
 * one would leave the planner a generic plan that cannot rule it out.
 */
function inRanges(
  sql: ReadTransaction,
  column: 'created_at' | 'p.created_at' | 'r.created_at' | 'bucket_start' | 'day_start',
  ranges: readonly Period[],
) {
  if (ranges.length === 0) return sql`false`;
  const conditions = ranges.map(
    (range) => sql`(${sql(column)} >= ${range.from.toISOString()}::timestamptz AND ${sql(column)} < ${range.to.toISOString()}::timestamptz)`,
  );
  return conditions.reduce((all, condition) => sql`${all} OR ${condition}`);
}

function addFigures(a: FinancialFigures, b: FinancialFigures): FinancialFigures {
  return {
    depositedCents: a.depositedCents + b.depositedCents,
    withdrawnCents: a.withdrawnCents + b.withdrawnCents,
    purchaseVolumeCents: a.purchaseVolumeCents + b.purchaseVolumeCents,
    royaltiesCents: a.royaltiesCents + b.royaltiesCents,
    platformRevenueCents: a.platformRevenueCents + b.platformRevenueCents,
    purchaseCount: a.purchaseCount + b.purchaseCount,
    refundedCents: a.refundedCents + b.refundedCents,
    royaltiesRefundedCents: a.royaltiesRefundedCents + b.royaltiesRefundedCents,
    platformRevenueRefundedCents: a.platformRevenueRefundedCents + b.platformRevenueRefundedCents,
    refundCount: a.refundCount + b.refundCount,
    payoutsPaidCents: a.payoutsPaidCents + b.payoutsPaidCents,
    payoutsFailedCents: a.payoutsFailedCents + b.payoutsFailedCents,
  };
}

function toFigures(row: TotalsSqlRow): FinancialFigures {
  return {
    depositedCents: toSafeInteger(row.deposited),
    withdrawnCents: toSafeInteger(row.withdrawn),
    purchaseVolumeCents: toSafeInteger(row.purchase_volume),
    royaltiesCents: toSafeInteger(row.royalties),
    platformRevenueCents: toSafeInteger(row.platform_revenue),
    purchaseCount: toSafeInteger(row.purchase_count),
    refundedCents: toSafeInteger(row.refunded),
    royaltiesRefundedCents: toSafeInteger(row.royalties_refunded),
    platformRevenueRefundedCents: toSafeInteger(row.platform_revenue_refunded),
    refundCount: toSafeInteger(row.refund_count),
    payoutsPaidCents: toSafeInteger(row.payouts_paid),
    payoutsFailedCents: toSafeInteger(row.payouts_failed),
  };
}
