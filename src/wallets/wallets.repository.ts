import { Injectable } from '@nestjs/common';
import { and, desc, sql as drizzleSql, eq } from 'drizzle-orm';
import { Database } from '../db/database';
import { ledgerEntries, ledgerTransactions, refunds, users, wallets } from '../db/schema';
import { toDate, toSafeInteger } from '../db/sql-values';
import { ItemResult, settle } from '../common/batching/batcher';
import { callMoneyBatch } from '../db/money-call';
import type { LedgerCursor } from './ledger-cursor';
import { WalletNotFoundError } from './wallet.errors';

export interface WalletRow {
  id: string;
  userId: string;
  balanceCents: number;
  carryCentiCents: number;
  debtCents: number;
  /** Cents of the wallet's authorized holds (ADR 0018); read with the wallet, not by deposits. */
  heldCents?: number;
  createdAt: Date;
  updatedAt: Date;
}

export interface DepositRow {
  depositId: string;
  replayed: boolean;
  requestHash: string;
  wallet: WalletRow;
}

/** The longest a statement may stream (a million postings take about half a minute here). */
const STATEMENT_STREAM_TIMEOUT_MS = 10 * 60_000;

export interface StatementRow {
  id: string;
  transactionId: string;
  type: string;
  amountCents: number;
  createdAt: Date;
  purchaseId: string | null;
}

interface StatementSqlRow {
  id: string;
  transaction_id: string;
  type: string;
  amount: string;
  created_at: string;
  purchase_id: string | null;
}

/** Optional narrowing of a ledger page: one transaction type, [from, to). */
export interface LedgerFilter {
  type?: string;
  from?: Date;
  to?: Date;
}

export interface LedgerEntryRow {
  id: number;
  transactionId: string;
  // A wallet is posted to by every type but withdrawal_paid (pending payouts account to payout).
  type: 'deposit' | 'withdrawal' | 'withdrawal_failed' | 'purchase' | 'refund' | 'hold' | 'hold_release';
  amountCents: number;
  createdAt: Date;
  /** The refunded purchase, on refund postings. */
  refundOfPurchaseId: string | null;
}

/** A row of wallet_deposit_batch: the deposit's columns are null when the wallet was not found. */
interface DepositBatchSqlRow extends WalletSqlRow {
  ordinal: number;
  outcome: 'completed' | 'replayed' | 'wallet_not_found';
  request_hash: string;
  wallet_id: string;
  wallet_created_at: Date | string;
}

export interface MoneyCall {
  operationId: string;
  userId: string;
  idempotencyKey: string | undefined;
  requestHash: string;
  walletId: string;
  amountCents: number;
}

@Injectable()
export class WalletsRepository {
  constructor(private readonly database: Database) {}

  /** Creates the user's wallet unless it exists; `created` tells which happened. */
  async createForUser(userId: string): Promise<{ wallet: WalletRow; created: boolean }> {
    await this.database.db.insert(users).values({ id: userId }).onConflictDoNothing();
    const [inserted] = await this.database.db
      .insert(wallets)
      .values({ userId })
      .onConflictDoNothing({ target: wallets.userId })
      .returning({ id: wallets.id });
    const wallet = await this.findByUserId(userId);
    if (!wallet) throw new Error(`the wallet of user ${userId} vanished right after it was created`);
    return { wallet, created: inserted !== undefined };
  }

  async findById(walletId: string): Promise<WalletRow | undefined> {
    const [row] = await this.database.sql<(WalletSqlRow & { held_balance: string })[]>`
      SELECT v.id, v.user_id, v.balance, v.fractional_balance, v.debt, w.held_balance, v.created_at, v.updated_at
        FROM wallet_view(${walletId}) v JOIN wallets w ON w.id = v.id`;
    return row ? { ...toWalletRow(row), heldCents: toSafeInteger(row.held_balance) } : undefined;
  }

  async findByUserId(userId: string): Promise<WalletRow | undefined> {
    const [wallet] = await this.database.db.select({ id: wallets.id }).from(wallets).where(eq(wallets.userId, userId));
    return wallet ? this.findById(wallet.id) : undefined;
  }

  /** One deposit: a batch of one, so a deposit has one implementation (wallet_deposit_batch). */
  async deposit(call: MoneyCall): Promise<DepositRow> {
    const [result] = await this.depositBatch([call]);
    if (!result) throw new Error('deposit batch returned no result');
    if (!result.ok) throw result.error;
    return result.value;
  }

  /**
   * Many deposits in one transaction (see wallet_deposit_batch); each gets its own result.
   * Calls must not repeat a (user, key). Retried, or split into batches of one, as
   * callMoneyBatch says.
   */
  async depositBatch(calls: MoneyCall[]): Promise<ItemResult<DepositRow>[]> {
    if (calls.length === 0) return [];
    const sql = this.database.sql;
    const run = () => sql<DepositBatchSqlRow[]>`
      SELECT ordinal, outcome, id, request_hash, wallet_id, user_id, balance, fractional_balance, debt, wallet_created_at, updated_at
        FROM wallet_deposit_batch(
          p_deposit_ids => ${sql.array(calls.map((c) => c.operationId))}::uuid[],
          p_user_ids => ${sql.array(calls.map((c) => c.userId))}::uuid[],
          p_idempotency_keys => ${sql.array(calls.map((c) => c.idempotencyKey ?? null) as string[])}::text[],
          p_request_hashes => ${sql.array(calls.map((c) => c.requestHash))}::text[],
          p_wallet_ids => ${sql.array(calls.map((c) => c.walletId))}::uuid[],
          p_amounts_cents => ${sql.array(calls.map((c) => String(c.amountCents)))}::bigint[])`;
    const rows = await callMoneyBatch(run, calls.length);
    if (!rows) return Promise.all(calls.map((call) => settle(() => this.deposit(call))));
    const byOrdinal = new Map(rows.map((row) => [row.ordinal, row]));
    return calls.map((_call, index): ItemResult<DepositRow> => {
      const row = byOrdinal.get(index + 1);
      if (!row) return { ok: false, error: new Error('deposit batch returned no row for an item') };
      if (row.outcome === 'wallet_not_found') return { ok: false, error: new WalletNotFoundError() };
      return { ok: true, value: toDepositRow(row) };
    });
  }

  /**
   * One page of a wallet's postings, newest first in (created_at, id) order, strictly older than
   * `before`. The order follows the partition key, so PostgreSQL scans the monthly partitions
   * newest first and stops in the first one that fills the page; the cursor's time also prunes
   * the newer months (ADR 0027).
   */
  async ledgerPage(
    walletId: string,
    before: LedgerCursor | undefined,
    limit: number,
    filter: LedgerFilter = {},
  ): Promise<LedgerEntryRow[]> {
    return (await this.ledgerPageQuery(walletId, before, limit, filter)) as LedgerEntryRow[];
  }

  /**
   * The wallet's balance and carry as they were at `at` (postings made at or before it): its
   * latest position snapshot at or before `at` plus the postings and royalty rows since
   * (wallet_position_at, ADR 0068), so the cost is bounded by the snapshot cadence, not by the
   * wallet's history. Exact: the snapshots are sums of the same rows, taken below every open
   * transaction.
   */
  async positionAt(walletId: string, at: Date): Promise<{ balanceCents: number; carryCentiCents: number }> {
    const [row] = await this.database.sql<{ balance_cents: string; carry_centi_cents: string }[]>`
      SELECT balance_cents::text, carry_centi_cents::text
        FROM wallet_position_at(p_wallet_id => ${walletId}, p_at => ${at.toISOString()}::timestamptz)`;
    return { balanceCents: toSafeInteger(row!.balance_cents), carryCentiCents: toSafeInteger(row!.carry_centi_cents) };
  }

  /**
   * A statement of [from, to): the opening balance (postings before `from`), then every posting in
   * the period oldest first, fetched `batchRows` at a time, all from one repeatable-read snapshot
   * on a reserved connection so that the rows and the opening balance agree. Memory stays flat:
   * the caller consumes the rows as they come.
   */
  async *statement(
    walletId: string,
    period: { from?: Date; to?: Date },
    batchRows: number,
  ): AsyncGenerator<{ openingCents: number } | StatementRow[]> {
    const reserved = await this.database.sql.reserve();
    const from = (period.from ?? new Date(0)).toISOString();
    const to = period.to?.toISOString() ?? 'infinity';
    try {
      await reserved`BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY`;
      // The cursor's statement lasts as long as the client takes to read the statement: bounded
      // by this instead of the pool's per-statement timeout (a slow reader is also cut by the
      // idle-in-transaction timeout while it does not read).
      await reserved`SELECT set_config('statement_timeout', ${String(STATEMENT_STREAM_TIMEOUT_MS)}, true)`;
      const [opening] = await reserved<{ amount: string }[]>`
        SELECT coalesce(sum(amount), 0)::text AS amount FROM ledger_entries
         WHERE wallet_id = ${walletId} AND created_at < ${from}::timestamptz`;
      yield { openingCents: toSafeInteger(opening!.amount) };
      const cursor = reserved<StatementSqlRow[]>`
        SELECT e.id::text AS id, e.transaction_id, t.type, e.amount::text AS amount, e.created_at::text AS created_at,
               CASE WHEN t.type = 'purchase' THEN e.transaction_id ELSE r.purchase_id END AS purchase_id
          FROM ledger_entries e
          JOIN ledger_transactions t ON t.id = e.transaction_id
          LEFT JOIN refunds r ON r.id = e.transaction_id
         WHERE e.wallet_id = ${walletId} AND e.created_at >= ${from}::timestamptz AND e.created_at < ${to}::timestamptz
         ORDER BY e.created_at, e.id`.cursor(batchRows);
      for await (const rows of cursor) {
        yield rows.map((row) => ({
          id: row.id,
          transactionId: row.transaction_id,
          type: row.type,
          amountCents: toSafeInteger(row.amount),
          createdAt: toDate(row.created_at),
          purchaseId: row.purchase_id,
        }));
      }
      await reserved`COMMIT`;
    } finally {
      // A statement abandoned midway (the client went away) ends its transaction with the connection.
      await reserved`ROLLBACK`.catch(() => undefined);
      reserved.release();
    }
  }

  /** The page's statement, unexecuted: its plan is asserted in the partition tests. */
  ledgerPageQuery(walletId: string, before: LedgerCursor | undefined, limit: number, filter: LedgerFilter = {}) {
    // Timestamps travel as ISO text: the shared client's type serialisers are drizzle's.
    const beforeAt =
      before === undefined
        ? undefined
        : before.createdAt === undefined
          ? drizzleSql`(SELECT c.created_at FROM ledger_entries c WHERE c.id = ${before.id} AND c.wallet_id = ${walletId})`
          : drizzleSql`${before.createdAt.toISOString()}::timestamptz`;
    // The page is cut from ledger_entries alone, then joined: the LIMIT stays on the ordered scan.
    // A ledger page may come from the replica, at most READ_REPLICA_MAX_LAG_MS behind (ADR 0053).
    const page = this.database.reader().db
      .select({
        id: ledgerEntries.id,
        transactionId: ledgerEntries.transactionId,
        amountCents: ledgerEntries.amountCents,
        createdAt: ledgerEntries.createdAt,
      })
      .from(ledgerEntries)
      .where(
        and(
          eq(ledgerEntries.walletId, walletId),
          before === undefined || beforeAt === undefined
            ? undefined
            : and(
                drizzleSql`${ledgerEntries.createdAt} <= ${beforeAt}`,
                drizzleSql`(${ledgerEntries.createdAt}, ${ledgerEntries.id}) < (${beforeAt}, ${before.id}::bigint)`,
              ),
          filter.from === undefined ? undefined : drizzleSql`${ledgerEntries.createdAt} >= ${filter.from.toISOString()}::timestamptz`,
          filter.to === undefined ? undefined : drizzleSql`${ledgerEntries.createdAt} < ${filter.to.toISOString()}::timestamptz`,
          // A type filter probes each posting's transaction on the ordered scan: the LIMIT stays on it.
          filter.type === undefined
            ? undefined
            : drizzleSql`EXISTS (SELECT 1 FROM ledger_transactions t WHERE t.id = ${ledgerEntries.transactionId} AND t.type = ${filter.type})`,
        ),
      )
      .orderBy(desc(ledgerEntries.createdAt), desc(ledgerEntries.id))
      .limit(limit)
      .as('page');
    return this.database.db
      .select({
        id: page.id,
        transactionId: page.transactionId,
        type: ledgerTransactions.type,
        amountCents: page.amountCents,
        createdAt: page.createdAt,
        refundOfPurchaseId: refunds.purchaseId,
      })
      .from(page)
      .innerJoin(ledgerTransactions, eq(ledgerTransactions.id, page.transactionId))
      .leftJoin(refunds, eq(refunds.id, page.transactionId))
      .orderBy(desc(page.createdAt), desc(page.id));
  }
}

interface WalletSqlRow {
  id: string;
  user_id: string;
  balance: string;
  fractional_balance: number;
  debt: string;
  created_at: Date | string;
  updated_at: Date | string;
}

function toWalletRow(row: WalletSqlRow): WalletRow {
  return {
    id: row.id,
    userId: row.user_id,
    balanceCents: toSafeInteger(row.balance),
    carryCentiCents: row.fractional_balance,
    debtCents: toSafeInteger(row.debt),
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
  };
}

function toDepositRow(row: DepositBatchSqlRow): DepositRow {
  return {
    depositId: row.id,
    replayed: row.outcome === 'replayed',
    requestHash: row.request_hash,
    wallet: toWalletRow({ ...row, id: row.wallet_id, created_at: row.wallet_created_at }),
  };
}
