import { sql } from 'drizzle-orm';
import { bigint, check, index, integer, jsonb, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { ledgerTransactions, wallets } from './index';

// As in index.ts: millisecond timestamps and cents as JavaScript numbers.
const timestamptz = (name: string) => timestamp(name, { withTimezone: true, precision: 3, mode: 'date' });
const cents = (name: string) => bigint(name, { mode: 'number' });

/**
 * Authorized purchases (ADR 0018): the buyer's cents wait in the holds account until the hold is
 * captured (the purchase, taking the hold's id, is paid from the holds account and the rest is
 * released, in one transaction), voided or expired (released). `status` moves once, from `authorized`, under the row's lock; a trigger
 * refuses any other change (hold_guard).
 */
export const holds = pgTable(
  'holds',
  {
    // The purchase id the capture gives its purchase.
    id: uuid('id').primaryKey(),
    // The ledger transaction that moved the cents into the holds account.
    authorizationId: uuid('authorization_id')
      .notNull()
      .references(() => ledgerTransactions.id),
    userId: uuid('user_id').notNull(),
    idempotencyKey: text('idempotency_key').notNull(),
    requestHash: text('request_hash').notNull(),
    buyerWalletId: uuid('buyer_wallet_id')
      .notNull()
      .references(() => wallets.id),
    // NULL when the item's terms name the payees (an authorization may omit the author then).
    authorWalletId: uuid('author_wallet_id').references(() => wallets.id),
    amountCents: cents('amount').notNull(),
    itemId: text('item_id'),
    // The item's royalty terms version when the hold was authorized (0: none, one author), so the
    // capture splits as the authorization saw it (ADR 0018). NULL only for holds authorized
    // before it was recorded: their capture uses the terms in force then, as it always did.
    royaltyTermsVersion: integer('royalty_terms_version'),
    metadata: jsonb('metadata').$type<Record<string, string>>(),
    status: text('status').notNull().default('authorized'),
    capturedCents: cents('captured_amount'),
    expiresAt: timestamptz('expires_at').notNull(),
    resolvedAt: timestamptz('resolved_at'),
    // The ledger transaction that released the cents (void, expiry, or the capture's release).
    releaseId: uuid('release_id'),
    createdAt: timestamptz('created_at').notNull(),
  },
  (t) => [
    uniqueIndex('holds_user_id_idempotency_key_key').on(t.userId, t.idempotencyKey),
    // The expiry sweeper reads only the holds still authorized, by expiry.
    index('holds_authorized_expires_at_idx').on(t.expiresAt).where(sql`${t.status} = 'authorized'`),
    index('holds_buyer_wallet_id_idx').on(t.buyerWalletId),
    check('holds_amount_range', sql`${t.amountCents} BETWEEN 1 AND 1000000000`),
    check('holds_status', sql`${t.status} IN ('authorized', 'captured', 'voided', 'expired')`),
    check('holds_not_self', sql`${t.buyerWalletId} <> ${t.authorWalletId}`),
    check('holds_royalty_terms_version', sql`${t.royaltyTermsVersion} >= 0`),
    // Without terms (version 0, or not recorded) the hold has one author.
    check('holds_author', sql`${t.authorWalletId} IS NOT NULL OR ${t.royaltyTermsVersion} >= 1`),
    check(
      'holds_captured_amount',
      sql`(${t.status} = 'captured') = (${t.capturedCents} IS NOT NULL) AND coalesce(${t.capturedCents}, 1) BETWEEN 1 AND ${t.amountCents}`,
    ),
    check('holds_resolved', sql`(${t.status} = 'authorized') = (${t.resolvedAt} IS NULL AND ${t.releaseId} IS NULL)`),
  ],
);
