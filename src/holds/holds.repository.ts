import { Injectable } from '@nestjs/common';
import { Database } from '../db/database';
import { callMoneyFunction } from '../db/money-call';
import { firstRow } from '../db/sql-values';
import { rethrowWalletSqlError } from '../wallets/wallet.errors';

export type HoldStatus = 'authorized' | 'captured' | 'voided' | 'expired';

/** A hold as the API shows it (hold_json): a purchase whose split has not happened yet. */
export interface HoldView {
  id: string;
  idempotencyKey: string;
  buyerWalletId: string;
  /** The author named, or the first payee of the terms the hold recorded. */
  authorWalletId: string;
  itemPrice: number;
  authorAmount: null;
  platformAmount: null;
  status: HoldStatus;
  expiresAt: string;
  itemId: string | null;
  metadata: Record<string, string> | null;
  /** The item's terms version the capture will split by; null without terms. */
  royaltyTermsVersion: number | null;
  createdAt: string;
}

export interface AuthorizeCall {
  holdId: string;
  authorizationId: string;
  userId: string;
  idempotencyKey: string;
  requestHash: string;
  buyerWalletId: string;
  /** Null when the item's royalty terms name the payees. */
  authorWalletId: string | null;
  amountCents: number;
  expiresAt: Date;
  itemId?: string;
  metadata?: Record<string, string>;
}

export type AuthorizeOutcome =
  | { outcome: 'authorized' | 'replayed'; hold: HoldView; requestHash: string }
  | { outcome: 'self_purchase' | 'author_not_found' | 'author_required' | 'author_not_payee' };

export type TransitionOutcome =
  | { outcome: 'released' | 'captured'; hold: HoldView }
  | { outcome: 'not_authorized' | 'not_expired' | 'exceeds_hold'; hold: HoldView }
  | { outcome: 'hold_not_found' };

/** Who asks for a transition: a caller (owner or admin), or the service itself (expiry). */
export interface HoldActor {
  userId: string | null;
  isAdmin: boolean;
}

const parseJson = <T>(value: T | string): T => (typeof value === 'string' ? (JSON.parse(value) as T) : value);

/** Purchase holds (ADR 0018): each transition is one call of its SQL function. */
@Injectable()
export class HoldsRepository {
  constructor(private readonly database: Database) {}

  async authorize(call: AuthorizeCall): Promise<AuthorizeOutcome> {
    const sql = this.database.sql;
    const rows = await callMoneyFunction(
      () => sql<{ outcome: AuthorizeOutcome['outcome']; request_hash: string | null; data: HoldView | string | null }[]>`
        SELECT outcome, request_hash, data FROM hold_authorize(
          p_hold_id => ${call.holdId}::uuid, p_authorization_id => ${call.authorizationId}::uuid,
          p_user_id => ${call.userId}::uuid, p_idempotency_key => ${call.idempotencyKey}::text,
          p_request_hash => ${call.requestHash}::text, p_buyer_wallet_id => ${call.buyerWalletId}::uuid,
          p_author_wallet_id => ${call.authorWalletId}::uuid, p_amount_cents => ${call.amountCents}::bigint,
          p_expires_at => ${call.expiresAt.toISOString()}::timestamptz, p_item_id => ${call.itemId ?? null}::text,
          p_metadata => ${call.metadata === undefined ? null : JSON.stringify(call.metadata)}::jsonb)`,
      rethrowWalletSqlError,
    );
    const row = firstRow(rows, 'hold_authorize');
    if (row.outcome !== 'authorized' && row.outcome !== 'replayed') return { outcome: row.outcome };
    return { outcome: row.outcome, hold: parseJson(row.data!), requestHash: row.request_hash! };
  }

  /** Voids a hold (status 'voided'), or expires it once due (status 'expired', actor the service). */
  async release(call: { holdId: string; releaseId: string; status: 'voided' | 'expired'; actor: HoldActor }): Promise<TransitionOutcome> {
    const sql = this.database.sql;
    const rows = await callMoneyFunction(
      () => sql<{ outcome: TransitionOutcome['outcome']; data: HoldView | string | null }[]>`
        SELECT outcome, data FROM hold_release(
          p_hold_id => ${call.holdId}::uuid, p_release_id => ${call.releaseId}::uuid, p_status => ${call.status}::text,
          p_caller_user_id => ${call.actor.userId}::uuid, p_caller_is_admin => ${call.actor.isAdmin}::boolean)`,
      (error) => {
        throw error;
      },
    );
    return toTransition(firstRow(rows, 'hold_release'));
  }

  async capture(call: {
    holdId: string;
    releaseId: string;
    amountCents: number | undefined;
    actor: HoldActor;
    royaltyPercent: number;
    platformWalletId: string;
  }): Promise<TransitionOutcome> {
    const sql = this.database.sql;
    const rows = await callMoneyFunction(
      () => sql<{ outcome: TransitionOutcome['outcome']; data: HoldView | string | null }[]>`
        SELECT outcome, data FROM hold_capture(
          p_hold_id => ${call.holdId}::uuid, p_release_id => ${call.releaseId}::uuid,
          p_amount_cents => ${call.amountCents ?? null}::bigint, p_caller_user_id => ${call.actor.userId}::uuid,
          p_caller_is_admin => ${call.actor.isAdmin}::boolean, p_royalty_percent => ${call.royaltyPercent}::integer,
          p_platform_wallet_id => ${call.platformWalletId}::uuid)`,
      (error) => {
        throw error;
      },
    );
    return toTransition(firstRow(rows, 'hold_capture'));
  }

  /**
   * A hold as the API shows it, with its buyer's user id and the user ids of its author or of the
   * payees of the terms it recorded (who may read it besides admins).
   */
  async findHold(holdId: string): Promise<{ hold: HoldView; userId: string; payeeUserIds: string[] } | undefined> {
    const [row] = await this.database.sql<{ data: HoldView | string; user_id: string; payee_user_ids: string[] }[]>`
      SELECT hold_json(h.id) AS data, h.user_id,
             ARRAY(SELECT w.user_id FROM wallets w
                    WHERE w.id = h.author_wallet_id
                       OR w.id = ANY ((SELECT t.payee_wallet_ids FROM royalty_terms t
                                        WHERE t.item_id = h.item_id AND t.version = h.royalty_terms_version)::uuid[]))
               AS payee_user_ids
        FROM holds h WHERE h.id = ${holdId}::uuid`;
    return row ? { hold: parseJson(row.data), userId: row.user_id, payeeUserIds: row.payee_user_ids } : undefined;
  }

  /** Holds still authorized whose expires_at has passed, oldest first (the sweeper's query). */
  async dueHoldIds(limit: number): Promise<string[]> {
    const rows = await this.database.sql<{ id: string }[]>`
      SELECT id FROM holds WHERE status = 'authorized' AND expires_at <= now() ORDER BY expires_at LIMIT ${limit}`;
    return rows.map((row) => row.id);
  }
}

function toTransition(row: { outcome: TransitionOutcome['outcome']; data: HoldView | string | null }): TransitionOutcome {
  if (row.outcome === 'hold_not_found' || row.data === null) return { outcome: 'hold_not_found' };
  return { outcome: row.outcome, hold: parseJson(row.data) } as TransitionOutcome;
}
