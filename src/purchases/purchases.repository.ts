import { Injectable } from '@nestjs/common';
import { eq } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import { Database } from '../db/database';
import { purchases, wallets } from '../db/schema';
import { toDate, toSafeInteger } from '../db/sql-values';
import {
  AuthorWalletNotFoundError,
  callMoneyBatch,
  callMoneyFunction,
  InsufficientFundsError,
  SelfPurchaseError,
  WalletNotFoundError,
} from '../wallets/wallet.errors';
import { ItemResult, settle } from '../common/batching/batcher';

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
  createdAt: Date;
}

export interface ExecutedPurchase extends PurchaseRow {
  replayed: boolean;
  requestHash: string;
}

export interface PurchaseWithParties extends PurchaseRow {
  buyerUserId: string;
  authorUserId: string;
}

export interface ExecutePurchaseCall {
  purchaseId: string;
  userId: string;
  idempotencyKey: string;
  requestHash: string;
  buyerWalletId: string;
  authorWalletId: string;
  itemPriceCents: number;
  royaltyPercent: number;
  platformWalletId: string;
}

interface PurchaseSqlRow {
  id: string;
  replayed: boolean;
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
}

type BatchOutcome =
  | 'completed'
  | 'replayed'
  | 'self_purchase'
  | 'wallet_not_found'
  | 'author_not_found'
  | 'insufficient_funds';

interface BatchSqlRow extends Omit<PurchaseSqlRow, 'replayed'> {
  ordinal: number;
  outcome: BatchOutcome;
}

const REFUSALS: Record<Exclude<BatchOutcome, 'completed' | 'replayed'>, () => Error> = {
  self_purchase: () => new SelfPurchaseError(),
  wallet_not_found: () => new WalletNotFoundError(),
  author_not_found: () => new AuthorWalletNotFoundError(),
  insufficient_funds: () => new InsufficientFundsError(),
};

const buyerWallets = alias(wallets, 'buyer_wallets');
const authorWallets = alias(wallets, 'author_wallets');

@Injectable()
export class PurchasesRepository {
  constructor(private readonly database: Database) {}

  /**
   * The whole purchase in one round trip (see purchase_execute). A unique violation on the
   * idempotency key means a same-key request committed first: one more call replays it.
   */
  async execute(call: ExecutePurchaseCall): Promise<ExecutedPurchase> {
    const run = () => this.database.sql<PurchaseSqlRow[]>`
      SELECT id, replayed, request_hash, buyer_wallet_id, author_wallet_id, item_price,
             royalty_percent, author_amount, platform_amount,
             fractional_before, fractional_after, created_at
        FROM purchase_execute(${call.purchaseId}, ${call.userId}, ${call.idempotencyKey}, ${call.requestHash},
                              ${call.buyerWalletId}, ${call.authorWalletId}, ${call.itemPriceCents},
                              ${call.royaltyPercent}, ${call.platformWalletId})`;
    const row = (await callMoneyFunction(run))[0]!;
    return { ...toPurchaseRow(row, call.idempotencyKey), replayed: row.replayed, requestHash: row.request_hash };
  }

  /**
   * Many purchases in one transaction (see purchase_execute_batch); each item gets its own
   * result. Items must share the royalty percent and platform wallet and must not repeat a
   * (user, key). A unique violation means another instance committed one of the keys first:
   * re-running the batch turns that item into a replay. Anything unexpected falls back to
   * running the items one by one, so one bad item cannot fail its neighbours.
   */
  async executeBatch(calls: ExecutePurchaseCall[]): Promise<ItemResult<ExecutedPurchase>[]> {
    const first = calls[0];
    if (!first) return [];
    const sql = this.database.sql;
    const run = () => sql<BatchSqlRow[]>`
      SELECT ordinal, outcome, id, request_hash, buyer_wallet_id, author_wallet_id, item_price, royalty_percent,
             author_amount, platform_amount, fractional_before, fractional_after, created_at
        FROM purchase_execute_batch(
          ${sql.array(calls.map((c) => c.purchaseId))}::uuid[],
          ${sql.array(calls.map((c) => c.userId))}::uuid[],
          ${sql.array(calls.map((c) => c.idempotencyKey))}::text[],
          ${sql.array(calls.map((c) => c.requestHash))}::text[],
          ${sql.array(calls.map((c) => c.buyerWalletId))}::uuid[],
          ${sql.array(calls.map((c) => c.authorWalletId))}::uuid[],
          ${sql.array(calls.map((c) => String(c.itemPriceCents)))}::bigint[],
          ${first.royaltyPercent}, ${first.platformWalletId})`;

    const rows = await callMoneyBatch(run, calls.length);
    if (!rows) return Promise.all(calls.map((call) => settle(() => this.execute(call))));
    const byOrdinal = new Map(rows.map((row) => [row.ordinal, row]));
    return calls.map((call, index): ItemResult<ExecutedPurchase> => {
      const row = byOrdinal.get(index + 1);
      if (!row) return { ok: false, error: new Error('purchase batch returned no row for an item') };
      if (row.outcome === 'completed' || row.outcome === 'replayed') {
        return {
          ok: true,
          value: {
            ...toPurchaseRow({ ...row, replayed: row.outcome === 'replayed' }, call.idempotencyKey),
            replayed: row.outcome === 'replayed',
            requestHash: row.request_hash,
          },
        };
      }
      return { ok: false, error: REFUSALS[row.outcome]() };
    });
  }

  async findWithParties(purchaseId: string): Promise<PurchaseWithParties | undefined> {
    const [row] = await this.database.db
      .select({
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
        createdAt: purchases.createdAt,
        buyerUserId: buyerWallets.userId,
        authorUserId: authorWallets.userId,
      })
      .from(purchases)
      .innerJoin(buyerWallets, eq(buyerWallets.id, purchases.buyerWalletId))
      .innerJoin(authorWallets, eq(authorWallets.id, purchases.authorWalletId))
      .where(eq(purchases.id, purchaseId));
    return row;
  }
}

function toPurchaseRow(row: PurchaseSqlRow, idempotencyKey: string): PurchaseRow {
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
    createdAt: toDate(row.created_at),
  };
}
