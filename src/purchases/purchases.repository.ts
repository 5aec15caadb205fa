import { Injectable } from '@nestjs/common';
import { eq } from 'drizzle-orm';
import { alias } from 'drizzle-orm/pg-core';
import { Database, retryTransient } from '../db/database';
import { PgCode, pgErrorCode } from '../db/postgres-errors';
import { purchases, wallets } from '../db/schema';
import { toDate, toSafeInteger } from '../db/sql-values';
import { rethrowWalletSqlError } from '../wallets/wallet.errors';

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
    let rows: PurchaseSqlRow[];
    try {
      rows = await retryTransient(run);
    } catch (error) {
      if (pgErrorCode(error) !== PgCode.uniqueViolation) rethrowWalletSqlError(error);
      try {
        rows = await run();
      } catch (retryError) {
        rethrowWalletSqlError(retryError);
      }
    }
    const row = rows[0]!;
    return { ...toPurchaseRow(row, call.idempotencyKey), replayed: row.replayed, requestHash: row.request_hash };
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
