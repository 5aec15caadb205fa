import { Injectable } from '@nestjs/common';
import { and, asc, desc, eq, gte, inArray, lt, sql as drizzleSql, SQL } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import { Database } from '../db/database';
import { purchasePayees, purchases, wallets } from '../db/schema';
import { toDate, toSafeInteger } from '../db/sql-values';
import { callMoneyBatch } from '../db/money-call';
import { InsufficientFundsError, WalletNotFoundError } from '../wallets/wallet.errors';
import { ItemResult, settle } from '../common/batching/batcher';
import { RequestValidationError } from '../common/errors/domain-errors';
import { AuthorWalletNotFoundError, SelfPurchaseError } from './purchase.errors';

export interface PurchaseRow {
  id: string;
  idempotencyKey: string;
  buyerWalletId: string;
  authorWalletId: string;
  itemPriceCents: number;
  royaltyPercent: number;
  authorAmountCents: number;
  platformAmountCents: number;
  carryBeforeCentiCents: number;
  carryAfterCentiCents: number;
  itemId: string | null;
  metadata: Record<string, string> | null;
  /** The royalty terms version a split purchase used; null for a one-author purchase. */
  royaltyTermsVersion: number | null;
  /** Who was credited what: the author, or each payee of the terms in their order. */
  payees: PayeeAmount[];
  createdAt: Date;
}

export interface PayeeAmount {
  walletId: string;
  amountCents: number;
}

/** One page of purchase search: the wallet (or item) filter, the period and the keyset position. */
export interface PurchaseSearch {
  buyerWalletId?: string;
  authorWalletId?: string;
  itemId?: string;
  /** Inclusive. */
  from?: Date;
  /** Exclusive. */
  to?: Date;
  /** The last purchase of the previous page: this page starts strictly before it. */
  before?: { createdAt: Date; id: string };
  limit: number;
}

export interface ExecutedPurchase extends PurchaseRow {
  replayed: boolean;
  requestHash: string;
}

export interface PurchaseWithParties extends PurchaseRow {
  buyerUserId: string;
  authorUserId: string;
  /** The owners of a split purchase's payee wallets (each may read it, as its author may). */
  payeeUserIds: string[];
}

export interface ExecutePurchaseCall {
  purchaseId: string;
  userId: string;
  idempotencyKey: string;
  requestHash: string;
  buyerWalletId: string;
  /** Null when the item's royalty terms name the payees. */
  authorWalletId: string | null;
  itemPriceCents: number;
  royaltyPercent: number;
  platformWalletId: string;
  /** What was bought and the caller's notes; absent or null when the purchase names none. */
  itemId?: string | null;
  metadata?: Record<string, string> | null;
}

type BatchOutcome =
  | 'completed'
  | 'replayed'
  | 'self_purchase'
  | 'wallet_not_found'
  | 'author_not_found'
  | 'author_required'
  | 'author_not_payee'
  | 'insufficient_funds';

/** A row of purchase_execute_batch: the purchase's columns are null unless completed or replayed. */
interface BatchSqlRow {
  ordinal: number;
  outcome: BatchOutcome;
  id: string;
  request_hash: string;
  buyer_wallet_id: string;
  author_wallet_id: string;
  item_price: string;
  royalty_percent: number;
  author_amount: string;
  platform_amount: string;
  fractional_before: number;
  fractional_after: number;
  created_at: Date | string;
  item_id: string | null;
  metadata: Record<string, string> | string | null;
  royalty_terms_version: number | null;
  payees: { walletId: string; amount: number | string }[] | string | null;
}

const REFUSALS: Record<Exclude<BatchOutcome, 'completed' | 'replayed'>, () => Error> = {
  self_purchase: () => new SelfPurchaseError(),
  wallet_not_found: () => new WalletNotFoundError(),
  author_not_found: () => new AuthorWalletNotFoundError(),
  author_required: () =>
    new RequestValidationError([{ field: 'authorWalletId', message: 'authorWalletId is required unless itemId has royalty terms' }]),
  author_not_payee: () =>
    new RequestValidationError([{ field: 'authorWalletId', message: "authorWalletId is not a payee of the item's royalty terms" }]),
  insufficient_funds: () => new InsufficientFundsError(),
};

const buyerWallets = alias(wallets, 'buyer_wallets');
const authorWallets = alias(wallets, 'author_wallets');

@Injectable()
export class PurchasesRepository {
  constructor(private readonly database: Database) {}

  /** One purchase: a batch of one, so a purchase has one implementation (purchase_execute_batch). */
  async execute(call: ExecutePurchaseCall): Promise<ExecutedPurchase> {
    const [result] = await this.executeBatch([call]);
    if (!result) throw new Error('purchase batch returned no result');
    if (!result.ok) throw result.error;
    return result.value;
  }

  /**
   * Many purchases in one transaction (see purchase_execute_batch); each item gets its own
   * result. Items must share the royalty percent and platform wallet and must not repeat a
   * (user, key). A unique violation means another instance committed one of the keys first:
   * re-running the batch turns that item into a replay. Anything unexpected falls back to
   * running the items as batches of one, so one bad item cannot fail its neighbours.
   */
  async executeBatch(calls: ExecutePurchaseCall[]): Promise<ItemResult<ExecutedPurchase>[]> {
    const first = calls[0];
    if (!first) return [];
    const sql = this.database.sql;
    const run = () => sql<BatchSqlRow[]>`
      SELECT ordinal, outcome, id, request_hash, buyer_wallet_id, author_wallet_id, item_price, royalty_percent,
             author_amount, platform_amount, fractional_before, fractional_after, created_at, item_id, metadata,
             royalty_terms_version, payees
        FROM purchase_execute_batch(
          p_purchase_ids => ${sql.array(calls.map((c) => c.purchaseId))}::uuid[],
          p_user_ids => ${sql.array(calls.map((c) => c.userId))}::uuid[],
          p_idempotency_keys => ${sql.array(calls.map((c) => c.idempotencyKey))}::text[],
          p_request_hashes => ${sql.array(calls.map((c) => c.requestHash))}::text[],
          p_buyer_wallet_ids => ${sql.array(calls.map((c) => c.buyerWalletId))}::uuid[],
          p_author_wallet_ids => ${sql.array(calls.map((c) => c.authorWalletId))}::uuid[],
          p_item_prices_cents => ${sql.array(calls.map((c) => String(c.itemPriceCents)))}::bigint[],
          p_royalty_percent => ${first.royaltyPercent}::integer,
          p_platform_wallet_id => ${first.platformWalletId}::uuid,
          p_item_ids => ${sql.array(calls.map((c) => c.itemId ?? null))}::text[],
          p_metadata => ${sql.array(calls.map((c) => (c.metadata == null ? null : JSON.stringify(c.metadata))))}::jsonb[])`;

    const rows = await callMoneyBatch(run, calls.length);
    if (!rows) return Promise.all(calls.map((call) => settle(() => this.execute(call))));
    const byOrdinal = new Map(rows.map((row) => [row.ordinal, row]));
    return calls.map((call, index): ItemResult<ExecutedPurchase> => {
      const row = byOrdinal.get(index + 1);
      if (!row) return { ok: false, error: new Error('purchase batch returned no row for an item') };
      if (row.outcome === 'completed' || row.outcome === 'replayed') {
        return {
          ok: true,
          value: { ...toPurchaseRow(row, call.idempotencyKey), replayed: row.outcome === 'replayed', requestHash: row.request_hash },
        };
      }
      return { ok: false, error: REFUSALS[row.outcome]() };
    });
  }

  async findWithParties(purchaseId: string): Promise<PurchaseWithParties | undefined> {
    const [row] = await this.database.db
      .select({
        ...PURCHASE_COLUMNS,
        buyerUserId: buyerWallets.userId,
        authorUserId: authorWallets.userId,
      })
      .from(purchases)
      .innerJoin(buyerWallets, eq(buyerWallets.id, purchases.buyerWalletId))
      .innerJoin(authorWallets, eq(authorWallets.id, purchases.authorWalletId))
      .where(eq(purchases.id, purchaseId));
    if (!row) return undefined;
    const payees = row.royaltyTermsVersion === null ? [] : await this.payeesOf([row.id]);
    return {
      ...row,
      payees: row.royaltyTermsVersion === null ? [oneAuthor(row)] : payees.map(({ walletId, amountCents }) => ({ walletId, amountCents })),
      payeeUserIds: payees.map((payee) => payee.userId),
    };
  }

  /** The payees of split purchases, in their order, with their wallets' owners. */
  private async payeesOf(purchaseIds: string[]): Promise<(PayeeAmount & { purchaseId: string; userId: string })[]> {
    if (purchaseIds.length === 0) return [];
    return this.database.db
      .select({
        purchaseId: purchasePayees.purchaseId,
        walletId: purchasePayees.walletId,
        amountCents: purchasePayees.amountCents,
        userId: wallets.userId,
      })
      .from(purchasePayees)
      .innerJoin(wallets, eq(wallets.id, purchasePayees.walletId))
      .where(inArray(purchasePayees.purchaseId, purchaseIds))
      .orderBy(asc(purchasePayees.purchaseId), asc(purchasePayees.position));
  }

  /**
   * A page of purchases, newest first, by (created_at, id) below the cursor. With one filter the
   * page is one range scan of that filter's (column, created_at, id) index, so its cost does not
   * grow with the table; a second filter is applied to the rows that scan finds.
   */
  async search(query: PurchaseSearch): Promise<PurchaseRow[]> {
    const conditions: (SQL | undefined)[] = [
      query.buyerWalletId === undefined ? undefined : eq(purchases.buyerWalletId, query.buyerWalletId),
      query.authorWalletId === undefined ? undefined : eq(purchases.authorWalletId, query.authorWalletId),
      query.itemId === undefined ? undefined : eq(purchases.itemId, query.itemId),
      query.from === undefined ? undefined : gte(purchases.createdAt, query.from),
      query.to === undefined ? undefined : lt(purchases.createdAt, query.to),
      query.before === undefined
        ? undefined
        : drizzleSql`(${purchases.createdAt}, ${purchases.id}) < (${query.before.createdAt.toISOString()}::timestamptz, ${query.before.id}::uuid)`,
    ];
    // Search may read the replica, at most READ_REPLICA_MAX_LAG_MS behind (ADR 0053).
    const reader = this.database.reader().db;
    // An author is also every payee of split purchases after the first (the first is their
    // author_wallet_id, ADR 0045): those come from purchase_payees' own (wallet, created_at) index,
    // so the page is still two ordered range scans, merged.
    const payeeIds =
      query.authorWalletId === undefined
        ? undefined
        : await reader
            .select({ id: purchasePayees.purchaseId })
            .from(purchasePayees)
            .innerJoin(purchases, eq(purchases.id, purchasePayees.purchaseId))
            .where(
              and(
                eq(purchasePayees.walletId, query.authorWalletId),
                drizzleSql`${purchasePayees.position} > 1`,
                ...conditions.slice(0, 1),
                ...conditions.slice(2),
              ),
            )
            .orderBy(desc(purchasePayees.createdAt), desc(purchasePayees.purchaseId))
            .limit(query.limit);
    let where = and(...conditions);
    if (payeeIds !== undefined && payeeIds.length > 0) {
      const authorIds = await reader
        .select({ id: purchases.id })
        .from(purchases)
        .where(where)
        .orderBy(desc(purchases.createdAt), desc(purchases.id))
        .limit(query.limit);
      where = inArray(purchases.id, [...authorIds, ...payeeIds].map((row) => row.id));
    }
    const rows = await reader
      .select(PURCHASE_COLUMNS)
      .from(purchases)
      .where(where)
      .orderBy(desc(purchases.createdAt), desc(purchases.id))
      .limit(query.limit);
    const payees = await this.payeesOf(rows.filter((row) => row.royaltyTermsVersion !== null).map((row) => row.id));
    return rows.map((row) => ({
      ...row,
      payees:
        row.royaltyTermsVersion === null
          ? [oneAuthor(row)]
          : payees.filter((payee) => payee.purchaseId === row.id).map(({ walletId, amountCents }) => ({ walletId, amountCents })),
    }));
  }
}

const PURCHASE_COLUMNS = {
  id: purchases.id,
  idempotencyKey: purchases.idempotencyKey,
  buyerWalletId: purchases.buyerWalletId,
  authorWalletId: purchases.authorWalletId,
  itemPriceCents: purchases.itemPriceCents,
  royaltyPercent: purchases.royaltyPercent,
  authorAmountCents: purchases.authorAmountCents,
  platformAmountCents: purchases.platformAmountCents,
  carryBeforeCentiCents: purchases.carryBeforeCentiCents,
  carryAfterCentiCents: purchases.carryAfterCentiCents,
  itemId: purchases.itemId,
  metadata: purchases.metadata,
  royaltyTermsVersion: purchases.royaltyTermsVersion,
  createdAt: purchases.createdAt,
};

/** A one-author purchase shows its author as its one payee. */
function oneAuthor(row: { authorWalletId: string; authorAmountCents: number }): PayeeAmount {
  return { walletId: row.authorWalletId, amountCents: row.authorAmountCents };
}

function toPurchaseRow(row: BatchSqlRow, idempotencyKey: string): PurchaseRow {
  return {
    id: row.id,
    idempotencyKey,
    buyerWalletId: row.buyer_wallet_id,
    authorWalletId: row.author_wallet_id,
    itemPriceCents: toSafeInteger(row.item_price),
    royaltyPercent: row.royalty_percent,
    authorAmountCents: toSafeInteger(row.author_amount),
    platformAmountCents: toSafeInteger(row.platform_amount),
    carryBeforeCentiCents: row.fractional_before,
    carryAfterCentiCents: row.fractional_after,
    royaltyTermsVersion: row.royalty_terms_version,
    payees: parseJson(row.payees ?? []).map((payee) => ({ walletId: payee.walletId, amountCents: toSafeInteger(payee.amount) })),
    itemId: row.item_id,
    // Raw queries may hand jsonb back as its text (drizzle's parsers on the shared client).
    metadata: typeof row.metadata === 'string' ? (JSON.parse(row.metadata) as Record<string, string>) : row.metadata,
    createdAt: toDate(row.created_at),
  };
}

/** jsonb and json arrive from raw queries as text or parsed, depending on the client's parsers. */
function parseJson<T>(value: T | string): T {
  return typeof value === 'string' ? (JSON.parse(value) as T) : value;
}
