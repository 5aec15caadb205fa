import { Injectable } from '@nestjs/common';
import { asc, eq, sql } from 'drizzle-orm';
import { Database, Tx } from '../db/database';
import { callMoneyFunction } from '../db/money-call';
import { refunds } from '../db/schema';
import { toDate, toSafeInteger } from '../db/sql-values';

export interface RefundRow {
  id: string;
  purchaseId: string;
  amountCents: number;
  authorAmountCents: number;
  platformAmountCents: number;
  reason: string | null;
  createdAt: Date;
}

/** A refund as refund_execute computed it, with what the service checks the split against. */
export interface ExecutedRefund extends RefundRow {
  royaltyPercent: number;
  carryBeforeCentiCents: number;
  carryAfterCentiCents: number;
}

export interface RefundCall {
  refundId: string;
  userId: string;
  idempotencyKey: string;
  requestHash: string;
  purchaseId: string;
  /** Undefined: everything not yet refunded. */
  amountCents: number | undefined;
  reason: string | undefined;
  platformWalletId: string;
}

export type RefundOutcome =
  | { outcome: 'completed' | 'replayed'; refund: ExecutedRefund; requestHash: string }
  | { outcome: 'purchase_not_found' }
  | { outcome: 'exceeds_remaining'; remainingCents: number };

/** A row of refund_execute: the refund's columns are null unless completed or replayed. */
interface RefundSqlRow {
  outcome: 'completed' | 'replayed' | 'purchase_not_found' | 'exceeds_remaining';
  id: string | null;
  request_hash: string | null;
  purchase_id: string | null;
  amount: string | null;
  author_amount: string | null;
  platform_amount: string | null;
  royalty_percent: number | null;
  fractional_before: number | null;
  fractional_after: number | null;
  reason: string | null;
  created_at: Date | string | null;
  remaining_cents: string | null;
}

@Injectable()
export class RefundsRepository {
  constructor(private readonly database: Database) {}

  /**
   * The whole refund in one round trip (see refund_execute). Deadlocks are retried; a unique
   * violation on the key means a same-key refund committed first, and one more call replays it.
   */
  async execute(call: RefundCall): Promise<RefundOutcome> {
    const rows = await callMoneyFunction(
      () => this.database.sql<RefundSqlRow[]>`
        SELECT outcome, id, request_hash, purchase_id, amount, author_amount, platform_amount, royalty_percent,
               fractional_before, fractional_after, reason, created_at, remaining_cents
          FROM refund_execute(
            p_refund_id => ${call.refundId}::uuid, p_user_id => ${call.userId}::uuid,
            p_idempotency_key => ${call.idempotencyKey}::text, p_request_hash => ${call.requestHash}::text,
            p_purchase_id => ${call.purchaseId}::uuid, p_amount_cents => ${call.amountCents ?? null}::bigint,
            p_reason => ${call.reason ?? null}::text, p_platform_wallet_id => ${call.platformWalletId}::uuid)`,
      (error) => {
        throw error;
      },
    );
    const [row] = rows;
    if (!row) throw new Error('refund_execute returned no row');
    switch (row.outcome) {
      case 'purchase_not_found':
        return { outcome: row.outcome };
      case 'exceeds_remaining':
        return { outcome: row.outcome, remainingCents: toSafeInteger(present(row.remaining_cents, 'remaining_cents')) };
      default:
        return { outcome: row.outcome, refund: toExecutedRefund(row), requestHash: present(row.request_hash, 'request_hash') };
    }
  }

  /** A purchase's refunded total and its oldest `limit` refunds, read in one snapshot. */
  async refundsOf(purchaseId: string, limit: number): Promise<{ refundedCents: number; refunds: RefundRow[] }> {
    return this.database.db.transaction(
      async (tx) => {
        const [total] = await tx
          .select({ refundedCents: sql<string>`coalesce(sum(${refunds.amountCents}), 0)` })
          .from(refunds)
          .where(eq(refunds.purchaseId, purchaseId));
        const listed = await this.list(tx, purchaseId, limit);
        return { refundedCents: toSafeInteger(total?.refundedCents ?? 0), refunds: listed };
      },
      { isolationLevel: 'repeatable read', accessMode: 'read only' },
    );
  }

  /**
   * The refunds of several purchases (a search page) in one snapshot: each purchase's refunded
   * total, and its oldest `limitPerPurchase` refunds.
   */
  async refundsOfMany(
    purchaseIds: string[],
    limitPerPurchase: number,
  ): Promise<Map<string, { refundedCents: number; refunds: RefundRow[] }>> {
    const byPurchase = new Map<string, { refundedCents: number; refunds: RefundRow[] }>(
      purchaseIds.map((id) => [id, { refundedCents: 0, refunds: [] }]),
    );
    if (purchaseIds.length === 0) return byPurchase;
    const idList = sql`ARRAY[${sql.join(purchaseIds.map((id) => sql`${id}`), sql`, `)}]::uuid[]`;
    const rows = await this.database.db.transaction(
      (tx) =>
        tx.execute<{
          id: string;
          purchase_id: string;
          amount: string;
          author_amount: string;
          platform_amount: string;
          reason: string | null;
          created_at: string;
          refunded_total: string;
          position: string;
        }>(sql`
          SELECT r.id, r.purchase_id, r.amount, r.author_amount, r.platform_amount, r.reason, r.created_at,
                 sum(r.amount) OVER (PARTITION BY r.purchase_id) AS refunded_total,
                 row_number() OVER (PARTITION BY r.purchase_id ORDER BY r.created_at, r.id) AS position
            FROM refunds r WHERE r.purchase_id = ANY (${idList})`),
      { isolationLevel: 'repeatable read', accessMode: 'read only' },
    );
    for (const row of rows) {
      const entry = byPurchase.get(row.purchase_id)!;
      entry.refundedCents = toSafeInteger(row.refunded_total);
      if (Number(row.position) > limitPerPurchase) continue;
      entry.refunds.push({
        id: row.id,
        purchaseId: row.purchase_id,
        amountCents: toSafeInteger(row.amount),
        authorAmountCents: toSafeInteger(row.author_amount),
        platformAmountCents: toSafeInteger(row.platform_amount),
        reason: row.reason,
        createdAt: toDate(row.created_at),
      });
    }
    for (const entry of byPurchase.values()) {
      entry.refunds.sort((x, y) => x.createdAt.getTime() - y.createdAt.getTime() || (x.id < y.id ? -1 : 1));
    }
    return byPurchase;
  }

  private async list(tx: Tx, purchaseId: string, limit: number): Promise<RefundRow[]> {
    return tx
      .select({
        id: refunds.id,
        purchaseId: refunds.purchaseId,
        amountCents: refunds.amountCents,
        authorAmountCents: refunds.authorAmountCents,
        platformAmountCents: refunds.platformAmountCents,
        reason: refunds.reason,
        createdAt: refunds.createdAt,
      })
      .from(refunds)
      .where(eq(refunds.purchaseId, purchaseId))
      .orderBy(asc(refunds.createdAt), asc(refunds.id))
      .limit(limit);
  }
}

function toExecutedRefund(row: RefundSqlRow): ExecutedRefund {
  return {
    id: present(row.id, 'id'),
    purchaseId: present(row.purchase_id, 'purchase_id'),
    amountCents: toSafeInteger(present(row.amount, 'amount')),
    authorAmountCents: toSafeInteger(present(row.author_amount, 'author_amount')),
    platformAmountCents: toSafeInteger(present(row.platform_amount, 'platform_amount')),
    royaltyPercent: present(row.royalty_percent, 'royalty_percent'),
    carryBeforeCentiCents: present(row.fractional_before, 'fractional_before'),
    carryAfterCentiCents: present(row.fractional_after, 'fractional_after'),
    reason: row.reason,
    createdAt: toDate(present(row.created_at, 'created_at')),
  };
}

/** A column refund_execute always fills for this outcome; null means the function is broken. */
function present<T>(value: T | null, column: string): T {
  if (value === null) throw new Error(`refund_execute returned no ${column}`);
  return value;
}
