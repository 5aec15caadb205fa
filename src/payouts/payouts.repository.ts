import { Injectable } from '@nestjs/common';
import { Database } from '../db/database';
import { callMoneyFunction } from '../db/money-call';
import { firstRow, toDate, toSafeInteger } from '../db/sql-values';
import { rethrowWalletSqlError } from '../wallets/wallet.errors';

export type WithdrawalStatus = 'pending' | 'paid' | 'failed';

export interface WithdrawalRow {
  id: string;
  walletId: string;
  /** The wallet's owner: who may read the withdrawal besides admins. */
  userId: string;
  amountCents: number;
  status: WithdrawalStatus;
  destination: string | null;
  failureReason: string | null;
  createdAt: Date;
  resolvedAt: Date | null;
}

export interface WithdrawalCall {
  withdrawalId: string;
  userId: string;
  idempotencyKey: string;
  requestHash: string;
  walletId: string;
  amountCents: number;
  destination: string | undefined;
}

export interface PayoutRunRow {
  id: string;
  minimumCents: number;
  payoutCount: number;
  totalCents: number;
  createdAt: Date;
  completedAt: Date | null;
}

export type ResolveOutcome =
  | { outcome: 'resolved' | 'not_pending'; withdrawal: Omit<WithdrawalRow, 'userId'> }
  | { outcome: 'withdrawal_not_found' };

/** A keyset position in a wallet's withdrawals, newest first. */
export interface WithdrawalPosition {
  createdAt: Date;
  id: string;
}

interface WithdrawalSqlRow {
  id: string;
  wallet_id: string;
  user_id: string;
  amount: string;
  status: WithdrawalStatus;
  destination: string | null;
  failure_reason: string | null;
  created_at: Date | string;
  resolved_at: Date | string | null;
}

/** withdrawal_json's shape (the API's), as it comes back from a money function. */
interface WithdrawalJson {
  id: string;
  walletId: string;
  amount: number;
  status: WithdrawalStatus;
  destination: string | null;
  failureReason: string | null;
  createdAt: string;
  resolvedAt: string | null;
}

interface PayoutRunSqlRow {
  id: string;
  minimum: string;
  payout_count: number;
  total: string;
  created_at: Date | string;
  completed_at: Date | string | null;
}

@Injectable()
export class PayoutsRepository {
  constructor(private readonly database: Database) {}

  /** One withdrawal (wallet_withdraw): a pending payout, or the stored one for a committed key. */
  async withdraw(call: WithdrawalCall): Promise<{ row: Omit<WithdrawalRow, 'userId'>; replayed: boolean; requestHash: string }> {
    const sql = this.database.sql;
    const rows = await callMoneyFunction(
      () => sql<{ id: string; replayed: boolean; request_hash: string; wallet_id: string; amount: string; destination: string | null; created_at: Date | string }[]>`
        SELECT id, replayed, request_hash, wallet_id, amount, destination, created_at
          FROM wallet_withdraw(
            p_withdrawal_id => ${call.withdrawalId}::uuid, p_user_id => ${call.userId}::uuid,
            p_idempotency_key => ${call.idempotencyKey}::text, p_request_hash => ${call.requestHash}::text,
            p_wallet_id => ${call.walletId}::uuid, p_amount => ${call.amountCents}::bigint,
            p_destination => ${call.destination ?? null}::text)`,
      rethrowWalletSqlError,
    );
    const row = firstRow(rows, 'wallet_withdraw');
    return {
      // A replay answers what the first request answered: the payout as it was created.
      row: {
        id: row.id,
        walletId: row.wallet_id,
        amountCents: toSafeInteger(row.amount),
        status: 'pending',
        destination: row.destination,
        failureReason: null,
        createdAt: toDate(row.created_at),
        resolvedAt: null,
      },
      replayed: row.replayed,
      requestHash: row.request_hash,
    };
  }

  async findWithdrawal(withdrawalId: string): Promise<WithdrawalRow | undefined> {
    const [row] = await this.database.sql<WithdrawalSqlRow[]>`
      SELECT ${withdrawalColumns(this.database.sql)}
        FROM withdrawals w JOIN wallets wa ON wa.id = w.wallet_id
        LEFT JOIN withdrawal_outcomes o ON o.withdrawal_id = w.id
       WHERE w.id = ${withdrawalId}::uuid`;
    return row ? toWithdrawalRow(row) : undefined;
  }

  /** One page of a wallet's withdrawals, newest first, strictly after `before` in that order. */
  async withdrawalPage(query: {
    walletId: string;
    status: WithdrawalStatus | undefined;
    before: WithdrawalPosition | undefined;
    limit: number;
  }): Promise<WithdrawalRow[]> {
    const sql = this.database.sql;
    const rows = await sql<WithdrawalSqlRow[]>`
      SELECT ${withdrawalColumns(sql)}
        FROM withdrawals w JOIN wallets wa ON wa.id = w.wallet_id
        LEFT JOIN withdrawal_outcomes o ON o.withdrawal_id = w.id
       WHERE w.wallet_id = ${query.walletId}::uuid
         ${query.before ? sql`AND (w.created_at, w.id) < (${query.before.createdAt.toISOString()}::timestamptz, ${query.before.id}::uuid)` : sql``}
         ${query.status ? sql`AND ${statusExpression(sql)} = ${query.status}` : sql``}
       ORDER BY w.created_at DESC, w.id DESC
       LIMIT ${query.limit}`;
    return rows.map(toWithdrawalRow);
  }

  /** Settles or fails a pending payout (withdrawal_resolve), once. */
  async resolve(call: {
    outcomeId: string;
    withdrawalId: string;
    status: 'paid' | 'failed';
    reason: string | undefined;
    resolvedBy: string;
  }): Promise<ResolveOutcome> {
    const sql = this.database.sql;
    const rows = await callMoneyFunction(
      () => sql<{ outcome: 'resolved' | 'not_pending' | 'withdrawal_not_found'; data: WithdrawalJson | string | null }[]>`
        SELECT outcome, data FROM withdrawal_resolve(
          p_outcome_id => ${call.outcomeId}::uuid, p_withdrawal_id => ${call.withdrawalId}::uuid,
          p_status => ${call.status}::text, p_reason => ${call.reason ?? null}::text,
          p_resolved_by => ${call.resolvedBy}::uuid)`,
      (error) => {
        throw error;
      },
    );
    const row = firstRow(rows, 'withdrawal_resolve');
    if (row.outcome === 'withdrawal_not_found' || row.data === null) return { outcome: 'withdrawal_not_found' };
    const data: WithdrawalJson = typeof row.data === 'string' ? (JSON.parse(row.data) as WithdrawalJson) : row.data;
    return {
      outcome: row.outcome,
      withdrawal: {
        id: data.id,
        walletId: data.walletId,
        amountCents: toSafeInteger(data.amount),
        status: data.status,
        destination: data.destination,
        failureReason: data.failureReason,
        createdAt: new Date(data.createdAt),
        resolvedAt: data.resolvedAt === null ? null : new Date(data.resolvedAt),
      },
    };
  }

  /** Stores the wallet's default destination; a later call replaces it. */
  async setDestination(walletId: string, destination: string): Promise<{ destination: string; updatedAt: Date }> {
    const rows = await this.database.sql<{ destination: string; updated_at: Date | string }[]>`
      INSERT INTO payout_destinations (wallet_id, destination, updated_at)
      VALUES (${walletId}::uuid, ${destination}, now()::timestamptz(3))
      ON CONFLICT (wallet_id) DO UPDATE SET destination = excluded.destination, updated_at = excluded.updated_at
      RETURNING destination, updated_at`;
    const row = firstRow(rows, 'the payout destination upsert');
    return { destination: row.destination, updatedAt: toDate(row.updated_at) };
  }

  /** The run of this (caller, key), created if new; `created` tells which. */
  async startRun(call: { runId: string; requestedBy: string; idempotencyKey: string; minimumCents: number }): Promise<{ run: PayoutRunRow; created: boolean }> {
    const sql = this.database.sql;
    const inserted = await sql<{ id: string }[]>`
      INSERT INTO payout_runs (id, requested_by, idempotency_key, minimum, created_at)
      VALUES (${call.runId}::uuid, ${call.requestedBy}::uuid, ${call.idempotencyKey}, ${call.minimumCents}, now()::timestamptz(3))
      ON CONFLICT (requested_by, idempotency_key) DO NOTHING
      RETURNING id`;
    const rows = await sql<PayoutRunSqlRow[]>`
      SELECT id, minimum, payout_count, total, created_at, completed_at FROM payout_runs
       WHERE requested_by = ${call.requestedBy}::uuid AND idempotency_key = ${call.idempotencyKey}`;
    return { run: toPayoutRunRow(firstRow(rows, 'the payout run')), created: inserted.length > 0 };
  }

  /** One chunk of a run in its own transaction (payout_run_execute). */
  async runChunk(call: { runId: string; minimumCents: number; afterWalletId: string | undefined; limit: number }): Promise<{
    walletsExamined: number;
    lastWalletId: string | null;
    payoutsCreated: number;
    payoutsCents: number;
  }> {
    const sql = this.database.sql;
    const rows = await callMoneyFunction(
      () => sql<{ wallets_examined: number; last_wallet_id: string | null; payouts_created: number; payouts_cents: string }[]>`
        SELECT wallets_examined, last_wallet_id, payouts_created, payouts_cents FROM payout_run_execute(
          p_run_id => ${call.runId}::uuid, p_minimum_cents => ${call.minimumCents}::bigint,
          p_after_wallet_id => ${call.afterWalletId ?? null}::uuid, p_limit => ${call.limit}::integer)`,
      (error) => {
        throw error;
      },
    );
    const row = firstRow(rows, 'payout_run_execute');
    return {
      walletsExamined: row.wallets_examined,
      lastWalletId: row.last_wallet_id,
      payoutsCreated: row.payouts_created,
      payoutsCents: toSafeInteger(row.payouts_cents),
    };
  }

  /** Payouts by state from the running totals: pending = withdrawn − paid (ADR 0018). */
  async payoutFigures(): Promise<{ pendingCents: number; paidCents: number; failedCents: number }> {
    const rows = await this.database.sql<{ withdrawn: string; paid: string; failed: string }[]>`
      SELECT coalesce(sum(withdrawn), 0)::text AS withdrawn, coalesce(sum(payouts_paid), 0)::text AS paid,
             coalesce(sum(payouts_failed), 0)::text AS failed
        FROM running_totals`;
    const row = firstRow(rows, 'the payout figures');
    const paidCents = toSafeInteger(row.paid);
    return { pendingCents: toSafeInteger(row.withdrawn) - paidCents, paidCents, failedCents: toSafeInteger(row.failed) };
  }

  /** Marks a run complete (the first completion time stays) and returns it. */
  async completeRun(runId: string): Promise<PayoutRunRow & { completedAt: Date }> {
    const rows = await this.database.sql<PayoutRunSqlRow[]>`
      UPDATE payout_runs SET completed_at = coalesce(completed_at, now()::timestamptz(3))
       WHERE id = ${runId}::uuid
       RETURNING id, minimum, payout_count, total, created_at, completed_at`;
    const run = toPayoutRunRow(firstRow(rows, 'the payout run completion'));
    if (run.completedAt === null) throw new Error('a completed payout run has no completion time');
    return { ...run, completedAt: run.completedAt };
  }
}

/** Legacy withdrawals (before payouts had a lifecycle) went straight to `payout`: paid at once. */
function statusExpression(sql: Database['sql']) {
  return sql`coalesce(o.status, CASE WHEN w.posted_to = 'payout' THEN 'paid' ELSE 'pending' END)`;
}

function withdrawalColumns(sql: Database['sql']) {
  return sql`w.id, w.wallet_id, wa.user_id, w.amount, ${statusExpression(sql)} AS status, w.destination,
             o.reason AS failure_reason, w.created_at, o.created_at AS resolved_at`;
}

function toWithdrawalRow(row: WithdrawalSqlRow): WithdrawalRow {
  return {
    id: row.id,
    walletId: row.wallet_id,
    userId: row.user_id,
    amountCents: toSafeInteger(row.amount),
    status: row.status,
    destination: row.destination,
    failureReason: row.failure_reason,
    createdAt: toDate(row.created_at),
    resolvedAt: row.resolved_at === null ? null : toDate(row.resolved_at),
  };
}

function toPayoutRunRow(row: PayoutRunSqlRow): PayoutRunRow {
  return {
    id: row.id,
    minimumCents: toSafeInteger(row.minimum),
    payoutCount: row.payout_count,
    totalCents: toSafeInteger(row.total),
    createdAt: toDate(row.created_at),
    completedAt: row.completed_at === null ? null : toDate(row.completed_at),
  };
}
