import { Injectable } from '@nestjs/common';
import { Database } from '../db/database';
import { longReadTransaction, LongReadOptions, ReadTransaction } from '../db/long-read-transaction';
import { firstRow, toDate, toSafeInteger } from '../db/sql-values';
import type { WalletChunk } from './reconciliation.repository';

/** As the other reconciliation statements: a long cut-off, one bounded set of keys each. */
const SWEEP_STATEMENTS: LongReadOptions = { statementTimeoutMs: 300_000, isolation: 'per-statement' };
const UUID_MAX = 'ffffffff-ffff-ffff-ffff-ffffffffffff';

/** One cycle of the rolling sweep (ADR 0028), with the key-space bounds fixed at its start. */
export interface SweepCycle {
  id: string;
  startedAt: Date;
  periodMs: number;
  sweptFraction: number;
  entryIdMin: number | undefined;
  entryIdMax: number | undefined;
  firstDay: Date | undefined;
  lastDay: Date | undefined;
}

/** The touched wallets of one statement, counted and detailed as a full run's wallet chunk. */
export interface RecentWalletChunk extends WalletChunk {
  /** Of the checked wallets, those read from a checkpoint rather than from their creation. */
  fromCheckpoint: number;
}

interface SweepColumns {
  id: string;
  started_at: Date | string;
  period_ms: string;
  swept_fraction: number;
  entry_id_min: string | null;
  entry_id_max: string | null;
  first_day: Date | string | null;
  last_day: Date | string | null;
}

interface RecentCountColumns {
  wallets: number;
  last_id: string | null;
  from_checkpoint: number;
  checkpoints: number;
  balance_drifts: number;
  carry_drifts: number;
  debt_drifts: number;
  orphans: number;
}

interface RecentWalletColumns {
  wallet_id: string;
  orphan: boolean;
  kept_balance: string | null;
  ledger_balance: string;
  kept_carry: number | null;
  ledger_carry: string;
  kept_debt: string | null;
  ledger_debt: string;
  entries: number;
}

function toCycle(row: SweepColumns): SweepCycle {
  return {
    id: row.id,
    startedAt: toDate(row.started_at),
    periodMs: toSafeInteger(row.period_ms),
    sweptFraction: row.swept_fraction,
    entryIdMin: row.entry_id_min === null ? undefined : toSafeInteger(row.entry_id_min),
    entryIdMax: row.entry_id_max === null ? undefined : toSafeInteger(row.entry_id_max),
    firstDay: row.first_day === null ? undefined : toDate(row.first_day),
    lastDay: row.last_day === null ? undefined : toDate(row.last_day),
  };
}

/**
 * The state and the statements of incremental reconciliation (ADR 0028): the sweep's cycles, the
 * last clean run, and the wallet checkpoints that let a run check a busy wallet by reading only
 * what it posted since. The checks themselves are declared once, in reconciliation.checks.ts.
 */
@Injectable()
export class IncrementalReconciliationRepository {
  constructor(private readonly database: Database) {}

  private withTimeout<T>(work: (sql: ReadTransaction) => Promise<T>): Promise<T> {
    return longReadTransaction(this.database.sql, SWEEP_STATEMENTS, work);
  }

  /**
   * Creates the ledger's monthly partitions that are missing from this month to `monthsAhead`
   * ahead (ADR 0027); returns how many it created. A no-op when they exist.
   */
  async ensureLedgerPartitions(monthsAhead: number): Promise<number> {
    const [row] = await this.database.sql<{ created: number }[]>`
      SELECT ledger_partitions_ensure(p_months_ahead => ${monthsAhead}::int) AS created`;
    return row?.created ?? 0;
  }

  /** When the last run that left nothing uncorrected started; undefined before the first. */
  async lastCleanRunStartedAt(): Promise<Date | undefined> {
    const [row] = await this.database.sql<{ started_at: Date | string | null }[]>`
      SELECT max(started_at) AS started_at FROM reconciliation_runs
       WHERE status = 'completed' AND drift_count = corrected_count`;
    return row?.started_at ? toDate(row.started_at) : undefined;
  }

  async markIncremental(runId: string): Promise<void> {
    await this.database.sql`UPDATE reconciliation_runs SET scope = 'incremental' WHERE id = ${runId}`;
  }

  /**
   * The cycle in progress, or a new one whose bounds are the ledger's as it stands: the range of
   * entry ids and the days from the first active one to today.
   */
  async openCycle(params: { now: Date; periodMs: number }): Promise<SweepCycle> {
    const [open] = await this.database.sql<SweepColumns[]>`
      SELECT id, started_at, period_ms::text, swept_fraction, entry_id_min::text, entry_id_max::text, first_day, last_day
        FROM reconciliation_sweeps WHERE finished_at IS NULL`;
    if (open) return toCycle(open);
    const now = params.now.toISOString();
    const rows = await this.database.sql<SweepColumns[]>`
      INSERT INTO reconciliation_sweeps (started_at, period_ms, entry_id_min, entry_id_max, first_day, last_day)
      SELECT ${now}::timestamptz, ${params.periodMs}, (SELECT min(id) FROM ledger_entries), (SELECT max(id) FROM ledger_entries),
             date_trunc('day', least((SELECT min(created_at) FROM ledger_entries), (SELECT min(created_at) FROM purchases),
                                     (SELECT min(bucket_start) FROM hourly_rollups),
                                     (SELECT min(bucket_start) FROM author_hourly_rollups),
                                     (SELECT min(day_start) FROM author_daily_rollups),
                                     (SELECT min(bucket_start) FROM item_author_hourly_rollups)), 'UTC'),
             date_trunc('day', ${now}::timestamptz, 'UTC')
      ON CONFLICT DO NOTHING
      RETURNING id, started_at, period_ms::text, swept_fraction, entry_id_min::text, entry_id_max::text, first_day, last_day`;
    // Another process opened one first: runs hold one lock, so this is only a restart race.
    return rows[0] ? toCycle(rows[0]) : this.openCycle(params);
  }

  async advanceCycle(params: { id: string; sweptFraction: number; finishedAt: Date | undefined }): Promise<void> {
    await this.database.sql`
      UPDATE reconciliation_sweeps
         SET swept_fraction = ${params.sweptFraction}, finished_at = ${params.finishedAt?.toISOString() ?? null}::timestamptz
       WHERE id = ${params.id}`;
  }

  /** A full run checked everything: the cycle in progress is done, the next run starts another. */
  async finishOpenCycles(at: Date): Promise<void> {
    await this.database.sql`
      UPDATE reconciliation_sweeps SET swept_fraction = 1, finished_at = ${at.toISOString()}::timestamptz
       WHERE finished_at IS NULL`;
  }

  /**
   * The next `walletLimit` wallets (id order, after `after`) that anything touched at or after
   * `since` (a posting, a purchase or refund naming them, a deposit or withdrawal, and always the
   * platform), each compared with its checkpoint plus what it posted after the checkpoint (from
   * its first posting when it has none). Each wallet's checkpoint then moves to `through`, in the
   * same statement: sums of the ledger alone, never of the wallet row. Postings before `through`
   * must all be committed, which the caller's margin guarantees (money transactions are short).
   */
  async compareRecentWallets(params: {
    since: Date;
    through: Date;
    after: string | undefined;
    walletLimit: number;
    detailLimit: number;
    platformWalletId: string | undefined;
  }): Promise<RecentWalletChunk> {
    const since = params.since.toISOString();
    // Never past this instant, whatever the run was told its time is (benchmarks and tests move it).
    const through = new Date(Math.min(params.through.getTime(), Date.now())).toISOString();
    const after = params.after ?? '00000000-0000-0000-0000-000000000000';
    const platform = params.platformWalletId ?? UUID_MAX;
    const rows = await this.withTimeout(
      (sql) => sql<(RecentWalletColumns & RecentCountColumns)[]>`
        WITH touched AS MATERIALIZED (
          SELECT DISTINCT s.id FROM (
            SELECT e.wallet_id AS id FROM ledger_entries e WHERE e.created_at >= ${since} AND e.wallet_id IS NOT NULL
            UNION ALL SELECT p.buyer_wallet_id FROM purchases p WHERE p.created_at >= ${since}
            UNION ALL SELECT p.author_wallet_id FROM purchases p WHERE p.created_at >= ${since}
            UNION ALL SELECT unnest(ARRAY[p.buyer_wallet_id, p.author_wallet_id])
                        FROM refunds r JOIN purchases p ON p.id = r.purchase_id WHERE r.created_at >= ${since}
            UNION ALL SELECT x.wallet_id FROM purchases p JOIN purchase_payees x ON x.purchase_id = p.id
                       WHERE p.created_at >= ${since}
            UNION ALL SELECT x.wallet_id FROM refunds r JOIN refund_payees x ON x.refund_id = r.id
                       WHERE r.created_at >= ${since}
            UNION ALL SELECT d.wallet_id FROM ledger_transactions t JOIN deposits d ON d.id = t.id
                       WHERE t.created_at >= ${since} AND t.type = 'deposit'
            UNION ALL SELECT x.wallet_id FROM ledger_transactions t JOIN withdrawals x ON x.id = t.id
                       WHERE t.created_at >= ${since} AND t.type = 'withdrawal'
            UNION ALL SELECT x.wallet_id FROM ledger_transactions t JOIN withdrawal_outcomes o ON o.id = t.id
                        JOIN withdrawals x ON x.id = o.withdrawal_id
                       WHERE t.created_at >= ${since} AND t.type = 'withdrawal_failed'
            UNION ALL SELECT ${platform}::uuid WHERE ${platform}::uuid <> ${UUID_MAX}::uuid
          ) s
          WHERE s.id > ${after}::uuid
          ORDER BY s.id LIMIT ${params.walletLimit}
        ), base AS MATERIALIZED (
          -- Without a checkpoint a wallet is read from its first posting.
          SELECT t.id, w.id IS NULL AS orphan, c.wallet_id IS NOT NULL AS checkpointed,
                 coalesce(c.through, '-infinity') AS lower_bound,
                 coalesce(c.balance, 0) AS balance, coalesce(c.carry, 0) AS carry, coalesce(c.debt, 0) AS debt,
                 w.balance + coalesce((SELECT sum(s.balance) FROM wallet_balance_slots s WHERE s.wallet_id = t.id), 0)
                   AS kept_balance,
                 w.fractional_balance AS kept_carry, w.debt AS kept_debt
            FROM touched t
            LEFT JOIN wallets w ON w.id = t.id
            LEFT JOIN wallet_ledger_checkpoints c ON c.wallet_id = t.id
        ), refunded AS MATERIALIZED (
          -- Refunds since the oldest checkpoint, once: each checkpointed wallet takes those after
          -- its own. A wallet without a checkpoint finds its refunds through its purchases.
          SELECT r.id, r.created_at, r.amount, r.royalty_percent, r.author_amount, r.author_debt, r.platform_debt,
                 r.buyer_debt_repaid, r.royalty_terms_version, p.author_wallet_id, p.buyer_wallet_id
            FROM refunds r JOIN purchases p ON p.id = r.purchase_id
           WHERE r.created_at >= (SELECT coalesce(min(lower_bound), 'infinity') FROM base WHERE checkpointed)
        ), figures AS (
          SELECT b.id, b.orphan, b.checkpointed, b.kept_balance, b.kept_carry, b.kept_debt,
                 b.balance + posted.total AS ledger_balance, b.balance + posted.before_through AS next_balance,
                 posted.entries,
                 b.carry + sold.carry_total - coalesce(rf.carry_total, 0) AS ledger_carry,
                 b.carry + sold.carry_before - coalesce(rf.carry_before, 0) AS next_carry,
                 b.debt + coalesce(rf.debt_total, 0) + sold.debt_total - coalesce(dep.total, 0) AS ledger_debt,
                 b.debt + coalesce(rf.debt_before, 0) + sold.debt_before - coalesce(dep.before_through, 0) AS next_debt
            FROM base b
           CROSS JOIN LATERAL (
             SELECT coalesce(sum(e.amount), 0)::bigint AS total,
                    coalesce(sum(e.amount) FILTER (WHERE e.created_at < ${through}), 0)::bigint AS before_through,
                    count(*)::int AS entries
               FROM ledger_entries e WHERE e.wallet_id = b.id AND e.created_at >= b.lower_bound
           ) posted
           CROSS JOIN LATERAL (
             -- Royalties: a one-author purchase and its refunds count on the author (the refunds
             -- below); a split one (ADR 0045) counts each payee's own part, cents and debt, as the
             -- full run does.
             SELECT coalesce(sum(x.carry), 0)::bigint AS carry_total,
                    coalesce(sum(x.carry) FILTER (WHERE x.created_at < ${through}), 0)::bigint AS carry_before,
                    coalesce(sum(x.debt), 0)::bigint AS debt_total,
                    coalesce(sum(x.debt) FILTER (WHERE x.created_at < ${through}), 0)::bigint AS debt_before
               FROM (SELECT p.item_price * p.royalty_percent - 100 * p.author_amount AS carry, -p.author_debt_repaid AS debt,
                            p.created_at
                       FROM purchases p
                      WHERE p.author_wallet_id = b.id AND p.created_at >= b.lower_bound AND p.royalty_terms_version IS NULL
                     UNION ALL
                     SELECT x.part_centi_cents - 100 * x.amount_cents, -x.debt_repaid_cents, x.created_at
                       FROM purchase_payees x WHERE x.wallet_id = b.id AND x.created_at >= b.lower_bound
                     UNION ALL
                     SELECT 100 * x.amount_cents - x.part_centi_cents, x.debt_cents - x.debt_repaid_cents, x.created_at
                       FROM refund_payees x WHERE x.wallet_id = b.id AND x.created_at >= b.lower_bound) x
           ) sold
           LEFT JOIN LATERAL (
             SELECT sum(CASE WHEN r.author_wallet_id = b.id AND r.royalty_terms_version IS NULL
                             THEN r.amount * r.royalty_percent - 100 * r.author_amount ELSE 0 END)::bigint AS carry_total,
                    sum(CASE WHEN r.author_wallet_id = b.id AND r.royalty_terms_version IS NULL
                             THEN r.amount * r.royalty_percent - 100 * r.author_amount ELSE 0 END)
                      FILTER (WHERE r.created_at < ${through})::bigint AS carry_before,
                    sum(CASE WHEN r.author_wallet_id = b.id AND r.royalty_terms_version IS NULL THEN r.author_debt ELSE 0 END
                        + CASE WHEN b.id = ${platform}::uuid THEN r.platform_debt ELSE 0 END
                        - CASE WHEN r.buyer_wallet_id = b.id THEN r.buyer_debt_repaid ELSE 0 END)::bigint AS debt_total,
                    coalesce(sum(CASE WHEN r.author_wallet_id = b.id AND r.royalty_terms_version IS NULL THEN r.author_debt ELSE 0 END
                        + CASE WHEN b.id = ${platform}::uuid THEN r.platform_debt ELSE 0 END
                        - CASE WHEN r.buyer_wallet_id = b.id THEN r.buyer_debt_repaid ELSE 0 END)
                      FILTER (WHERE r.created_at < ${through}), 0)::bigint AS debt_before
               FROM (
                 SELECT * FROM refunded r
                  WHERE b.checkpointed AND r.created_at >= b.lower_bound
                    AND (r.author_wallet_id = b.id OR r.buyer_wallet_id = b.id OR b.id = ${platform}::uuid)
                 UNION
                 SELECT r.id, r.created_at, r.amount, r.royalty_percent, r.author_amount, r.author_debt, r.platform_debt,
                        r.buyer_debt_repaid, r.royalty_terms_version, p.author_wallet_id, p.buyer_wallet_id
                   FROM purchases p JOIN refunds r ON r.purchase_id = p.id
                  WHERE NOT b.checkpointed AND (p.author_wallet_id = b.id OR p.buyer_wallet_id = b.id)
                 UNION
                 SELECT r.id, r.created_at, r.amount, r.royalty_percent, r.author_amount, r.author_debt, r.platform_debt,
                        r.buyer_debt_repaid, r.royalty_terms_version, p.author_wallet_id, p.buyer_wallet_id
                   FROM refunds r JOIN purchases p ON p.id = r.purchase_id
                  WHERE NOT b.checkpointed AND b.id = ${platform}::uuid AND r.platform_debt > 0
               ) r
           ) rf ON true
           LEFT JOIN LATERAL (
             -- Debt repaid by deposits, the platform's by its revenue (purchases, and split refunds
             -- whose payees gave up more than the amount; ADR 0017), and by released cents: the
             -- receivables leg of a hold's release or a failed payout (pending_release), posted
             -- when the hold or payout was resolved. The platform's debt from split sales that
             -- swept more than their price counts here as negative repayment.
             SELECT sum(x.debt_repaid)::bigint AS total,
                    coalesce(sum(x.debt_repaid) FILTER (WHERE x.created_at < ${through}), 0)::bigint AS before_through
               FROM (SELECT d.debt_repaid, d.created_at FROM deposits d
                      WHERE d.wallet_id = b.id AND d.debt_repaid > 0 AND d.created_at >= b.lower_bound
                     UNION ALL
                     SELECT p.platform_debt_repaid, p.created_at FROM purchases p
                      WHERE b.id = ${platform}::uuid AND p.platform_debt_repaid > 0 AND p.created_at >= b.lower_bound
                     UNION ALL
                     SELECT -p.platform_debt, p.created_at FROM purchases p
                      WHERE b.id = ${platform}::uuid AND p.platform_debt > 0 AND p.created_at >= b.lower_bound
                     UNION ALL
                     SELECT r.platform_debt_repaid, r.created_at FROM refunds r
                      WHERE b.id = ${platform}::uuid AND r.platform_debt_repaid > 0 AND r.created_at >= b.lower_bound
                     UNION ALL
                     SELECT e.amount, e.created_at
                       FROM holds h JOIN ledger_entries e ON e.transaction_id = h.release_id AND e.created_at = h.resolved_at
                      WHERE h.buyer_wallet_id = b.id AND h.resolved_at >= b.lower_bound AND e.system_account = 'receivables'
                     UNION ALL
                     SELECT e.amount, e.created_at
                       FROM withdrawals w JOIN withdrawal_outcomes o ON o.withdrawal_id = w.id AND o.status = 'failed'
                       JOIN ledger_entries e ON e.transaction_id = o.id AND e.created_at = o.created_at
                      WHERE w.wallet_id = b.id AND o.created_at >= b.lower_bound AND e.system_account = 'receivables') x
           ) dep ON true
        ), checkpointed AS (
          INSERT INTO wallet_ledger_checkpoints AS c (wallet_id, through, balance, carry, debt)
          SELECT f.id, ${through}, f.next_balance, f.next_carry, f.next_debt FROM figures f WHERE NOT f.orphan
          ON CONFLICT (wallet_id) DO UPDATE
            SET through = excluded.through, balance = excluded.balance, carry = excluded.carry, debt = excluded.debt
          RETURNING 1
        ), drifted AS (
          SELECT * FROM figures f
           WHERE (f.orphan AND f.entries > 0)
              OR (NOT f.orphan AND (f.kept_balance IS DISTINCT FROM f.ledger_balance OR f.kept_carry IS DISTINCT FROM f.ledger_carry
                                    OR f.kept_debt IS DISTINCT FROM f.ledger_debt))
        )
        SELECT (SELECT count(*) FROM touched)::int AS wallets, (SELECT max(id::text) FROM touched) AS last_id,
               (SELECT count(*) FILTER (WHERE checkpointed) FROM base)::int AS from_checkpoint,
               (SELECT count(*) FROM checkpointed)::int AS checkpoints,
               (SELECT count(*) FILTER (WHERE NOT orphan AND kept_balance IS DISTINCT FROM ledger_balance) FROM drifted)::int
                 AS balance_drifts,
               (SELECT count(*) FILTER (WHERE NOT orphan AND kept_carry IS DISTINCT FROM ledger_carry) FROM drifted)::int
                 AS carry_drifts,
               (SELECT count(*) FILTER (WHERE NOT orphan AND kept_debt IS DISTINCT FROM ledger_debt) FROM drifted)::int
                 AS debt_drifts,
               (SELECT count(*) FILTER (WHERE orphan) FROM drifted)::int AS orphans,
               d.id AS wallet_id, d.orphan, d.kept_balance::text, d.ledger_balance::text, d.kept_carry,
               d.ledger_carry::text, d.kept_debt::text, d.ledger_debt::text, d.entries
          FROM (SELECT 1) one
          LEFT JOIN LATERAL (SELECT * FROM drifted ORDER BY id LIMIT ${params.detailLimit}) d ON true`,
    );
    const head = firstRow(rows, 'the recent wallet comparison');
    return {
      walletsChecked: head.wallets,
      lastWalletId: head.last_id ?? undefined,
      fromCheckpoint: head.from_checkpoint,
      balanceDriftCount: head.balance_drifts,
      carryDriftCount: head.carry_drifts,
      debtDriftCount: head.debt_drifts,
      orphanCount: head.orphans,
      drifts: rows
        .filter((row) => row.wallet_id !== null)
        .map((row) => ({
          walletId: row.wallet_id,
          orphan: row.orphan,
          keptBalance: row.kept_balance === null ? null : toSafeInteger(row.kept_balance),
          ledgerBalance: toSafeInteger(row.ledger_balance),
          keptCarry: row.kept_carry,
          ledgerCarry: toSafeInteger(row.ledger_carry),
          keptDebt: row.kept_debt === null ? null : toSafeInteger(row.kept_debt),
          ledgerDebt: toSafeInteger(row.ledger_debt),
          orphanEntries: row.orphan ? row.entries : 0,
        })),
    };
  }

  /**
   * Rebuilds the checkpoints of the wallets in (after, upTo] from their whole ledger, as of
   * `through`: run after a full comparison of the same wallets (a full run's chunk or the sweep's
   * slice), so that a checkpoint never outlives a sweep period, a ledger changed behind the
   * service's back cannot hide behind one for longer, and the next incremental run reads a
   * touched wallet from here instead of from its first posting. Set-based, like the full
   * comparison: one grouped read of the range's postings, purchases and deposits, and of the
   * refunds.
   */
  async rebuildCheckpoints(params: { after: string | undefined; upTo: string; through: Date; platformWalletId: string | undefined }): Promise<number> {
    const after = params.after ?? '00000000-0000-0000-0000-000000000000';
    // Never past this instant, whatever the run was told its time is (benchmarks and tests move it).
    const through = new Date(Math.min(params.through.getTime(), Date.now())).toISOString();
    const platform = params.platformWalletId ?? UUID_MAX;
    const rows = await this.withTimeout(
      (sql) => sql<{ written: number }[]>`
        WITH chunk AS (
          SELECT id FROM wallets WHERE id > ${after}::uuid AND id <= ${params.upTo}::uuid
        ), posted AS (
          SELECT e.wallet_id, sum(e.amount)::bigint AS balance
            FROM ledger_entries e
           WHERE e.wallet_id > ${after}::uuid AND e.wallet_id <= ${params.upTo}::uuid AND e.created_at < ${through}
           GROUP BY e.wallet_id
        ), sold AS (
          -- A split purchase (ADR 0045) counts each payee's own part, as the full run does.
          SELECT f.wallet_id, sum(f.carry)::bigint AS carry, sum(f.debt_repaid)::bigint AS debt_repaid
            FROM (SELECT p.author_wallet_id AS wallet_id, p.item_price * p.royalty_percent - 100 * p.author_amount AS carry,
                         p.author_debt_repaid AS debt_repaid
                    FROM purchases p
                   WHERE p.author_wallet_id > ${after}::uuid AND p.author_wallet_id <= ${params.upTo}::uuid
                     AND p.created_at < ${through} AND p.royalty_terms_version IS NULL
                  UNION ALL
                  SELECT x.wallet_id, x.part_centi_cents - 100 * x.amount_cents, x.debt_repaid_cents
                    FROM purchase_payees x
                   WHERE x.wallet_id > ${after}::uuid AND x.wallet_id <= ${params.upTo}::uuid AND x.created_at < ${through}) f
           GROUP BY f.wallet_id
        ), refunded AS (
          SELECT f.wallet_id, sum(f.carry)::bigint AS carry, sum(f.debt)::bigint AS debt
            FROM (SELECT p.author_wallet_id AS wallet_id, r.amount * r.royalty_percent - 100 * r.author_amount AS carry,
                         r.author_debt AS debt
                    FROM refunds r JOIN purchases p ON p.id = r.purchase_id
                   WHERE r.created_at < ${through} AND r.royalty_terms_version IS NULL
                  UNION ALL
                  SELECT x.wallet_id, x.part_centi_cents - 100 * x.amount_cents, x.debt_cents - x.debt_repaid_cents
                    FROM refund_payees x WHERE x.created_at < ${through}
                  UNION ALL
                  SELECT p.buyer_wallet_id, 0, -r.buyer_debt_repaid
                    FROM refunds r JOIN purchases p ON p.id = r.purchase_id
                   WHERE r.created_at < ${through} AND r.buyer_debt_repaid > 0
                  UNION ALL
                  SELECT ${platform}::uuid, 0, r.platform_debt FROM refunds r
                   WHERE r.created_at < ${through} AND r.platform_debt > 0) f
           WHERE f.wallet_id > ${after}::uuid AND f.wallet_id <= ${params.upTo}::uuid
           GROUP BY f.wallet_id
        ), repaid AS (
          -- Debt repaid by deposits, the platform's by its revenue (purchases, and split refunds
          -- whose payees gave up more than the amount; ADR 0017), and by released cents (the
          -- receivables leg of a hold's release or a failed payout). The platform's debt from
          -- split sales that swept more than their price is negative repayment.
          SELECT f.wallet_id, sum(f.debt_repaid)::bigint AS debt_repaid
            FROM (SELECT d.wallet_id, d.debt_repaid FROM deposits d
                   WHERE d.debt_repaid > 0 AND d.created_at < ${through}
                  UNION ALL
                  SELECT ${platform}::uuid, p.platform_debt_repaid FROM purchases p
                   WHERE p.platform_debt_repaid > 0 AND p.created_at < ${through}
                  UNION ALL
                  SELECT ${platform}::uuid, -p.platform_debt FROM purchases p
                   WHERE p.platform_debt > 0 AND p.created_at < ${through}
                  UNION ALL
                  SELECT ${platform}::uuid, r.platform_debt_repaid FROM refunds r
                   WHERE r.platform_debt_repaid > 0 AND r.created_at < ${through}
                  UNION ALL
                  SELECT h.buyer_wallet_id, e.amount
                    FROM holds h JOIN ledger_entries e ON e.transaction_id = h.release_id AND e.created_at = h.resolved_at
                   WHERE h.resolved_at < ${through} AND e.system_account = 'receivables'
                  UNION ALL
                  SELECT w.wallet_id, e.amount
                    FROM withdrawals w JOIN withdrawal_outcomes o ON o.withdrawal_id = w.id AND o.status = 'failed'
                    JOIN ledger_entries e ON e.transaction_id = o.id AND e.created_at = o.created_at
                   WHERE o.created_at < ${through} AND e.system_account = 'receivables') f
           WHERE f.wallet_id > ${after}::uuid AND f.wallet_id <= ${params.upTo}::uuid
           GROUP BY f.wallet_id
        ), written AS (
          INSERT INTO wallet_ledger_checkpoints AS c (wallet_id, through, balance, carry, debt)
          SELECT w.id, ${through}, coalesce(l.balance, 0), coalesce(s.carry, 0) - coalesce(r.carry, 0),
                 coalesce(r.debt, 0) - coalesce(s.debt_repaid, 0) - coalesce(d.debt_repaid, 0)
            FROM chunk w
            LEFT JOIN posted l ON l.wallet_id = w.id
            LEFT JOIN sold s ON s.wallet_id = w.id
            LEFT JOIN refunded r ON r.wallet_id = w.id
            LEFT JOIN repaid d ON d.wallet_id = w.id
          ON CONFLICT (wallet_id) DO UPDATE
            SET through = excluded.through, balance = excluded.balance, carry = excluded.carry, debt = excluded.debt
          RETURNING 1
        )
        SELECT count(*)::int AS written FROM written`,
    );
    return firstRow(rows, 'the checkpoint rebuild').written;
  }

  /**
   * Transactions with postings at or after `since` whose postings do not sum to zero. Their
   * postings share one instant (the transaction's), so the scan reads the recent partition only.
   */
  async unbalancedRecentTransactions(params: {
    since: Date;
    detailLimit: number;
  }): Promise<{ entries: number; unbalancedCount: number; unbalanced: { transactionId: string; sumCents: number }[] }> {
    const since = params.since.toISOString();
    const rows = await this.withTimeout(
      (sql) => sql<{ entries: number; unbalanced_count: number; transaction_id: string | null; sum: string | null }[]>`
        WITH recent AS (
          SELECT transaction_id, sum(amount) AS sum, count(*) AS entries
            FROM ledger_entries WHERE created_at >= ${since} GROUP BY transaction_id
        ), whole AS (
          -- A transaction whose postings straddle the bound is judged on all of them.
          SELECT r.transaction_id, (SELECT sum(e.amount) FROM ledger_entries e WHERE e.transaction_id = r.transaction_id) AS sum
            FROM recent r WHERE r.sum <> 0
        ), unbalanced AS (SELECT * FROM whole WHERE sum <> 0)
        SELECT (SELECT coalesce(sum(entries), 0) FROM recent)::int AS entries,
               (SELECT count(*) FROM unbalanced)::int AS unbalanced_count, u.transaction_id, u.sum::text
          FROM (SELECT 1) one
          LEFT JOIN LATERAL (SELECT * FROM unbalanced ORDER BY transaction_id LIMIT ${params.detailLimit}) u ON true`,
    );
    const head = firstRow(rows, 'the recent transaction check');
    return {
      entries: head.entries,
      unbalancedCount: head.unbalanced_count,
      unbalanced: rows.flatMap((row) =>
        row.transaction_id === null || row.sum === null ? [] : [{ transactionId: row.transaction_id, sumCents: toSafeInteger(row.sum) }],
      ),
    };
  }
}
