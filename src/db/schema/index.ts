import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  doublePrecision,
  index,
  integer,
  jsonb,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';

// Millisecond timestamps: what the API shows is exactly what is stored and bucketed.
const timestamptz = (name: string) => timestamp(name, { withTimezone: true, precision: 3, mode: 'date' });
// Cents fit a JavaScript number exactly far beyond any real balance (2^53 cents).
const cents = (name: string) => bigint(name, { mode: 'number' });

// The outbox and webhook tables (ADR 0030, 0031, 0032).
export * from './events';
// Payout outcomes, destinations and runs, and purchase holds (ADR 0018).
export * from './payouts';
export * from './holds';
// Position snapshots for balance at an instant (ADR 0068).
export * from './positions';

export const users = pgTable('users', {
  id: uuid('id').primaryKey(),
  createdAt: timestamptz('created_at').notNull().defaultNow(),
});

export const wallets = pgTable(
  'wallets',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    userId: uuid('user_id')
      .notNull()
      .references(() => users.id),
    balanceCents: cents('balance').notNull().default(0),
    carryCentiCents: integer('fractional_balance').notNull().default(0),
    // Cents a refund took back that the wallet could not cover (ADR 0017); credits repay it first.
    debtCents: cents('debt').notNull().default(0),
    // Cents of the wallet's authorized purchases (holds), out of its balance until captured or
    // released (ADR 0018); the holds account holds the same cents.
    heldCents: cents('held_balance').notNull().default(0),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    uniqueIndex('wallets_user_id_key').on(t.userId),
    check('wallets_balance_non_negative', sql`${t.balanceCents} >= 0`),
    check('wallets_fractional_balance_range', sql`${t.carryCentiCents} BETWEEN 0 AND 99`),
    // The financial report's outstanding debt reads only the wallets in debt.
    index('wallets_in_debt_idx').on(t.id).where(sql`${t.debtCents} > 0`),
    check('wallets_debt_non_negative', sql`${t.debtCents} >= 0`),
    check('wallets_held_balance_non_negative', sql`${t.heldCents} >= 0`),
    // A wallet in debt has nothing in its row: any credit would have repaid the debt first.
    check('wallets_debt_or_balance', sql`${t.debtCents} = 0 OR ${t.balanceCents} = 0`),
  ],
);

/**
 * Credits to a hot wallet (the platform's) land in the slot of the writing connection (see
 * stat_slot(), the one place the slot count is set) instead of the wallet row; the wallet's
 * balance is `wallets.balance + sum(slots)`. Debits fold the slots back.
 */
export const walletBalanceSlots = pgTable(
  'wallet_balance_slots',
  {
    walletId: uuid('wallet_id').notNull(),
    slot: smallint('slot').notNull(),
    balanceCents: cents('balance').notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.walletId, t.slot] }),
    check('wallet_balance_slots_non_negative', sql`${t.balanceCents} >= 0`),
  ],
);

export const ledgerTransactions = pgTable(
  'ledger_transactions',
  {
    // The id of the business operation (deposit, withdrawal or purchase) that posted it.
    id: uuid('id').primaryKey(),
    type: text('type').notNull(),
    createdAt: timestamptz('created_at').notNull(),
  },
  (t) => [
    // withdrawal_paid / withdrawal_failed: a pending payout leaving the pending account; hold /
    // hold_release: a purchase hold entering and leaving the holds account (ADR 0018).
    check(
      'ledger_transactions_type',
      sql`${t.type} IN ('deposit', 'withdrawal', 'purchase', 'refund', 'withdrawal_paid', 'withdrawal_failed', 'hold', 'hold_release')`,
    ),
    index('ledger_transactions_created_at_idx').on(t.createdAt),
  ],
);

/**
 * Append-only postings (a trigger rejects UPDATE, DELETE and TRUNCATE). Each names either a
 * wallet or a system account. There is deliberately no foreign key to `wallets`: every purchase
 * posts to the platform wallet, and a foreign-key check would share-lock that one row each time.
 *
 * Partitioned by month of `created_at` (ADR 0027): drizzle-kit does not model partitioning, so the
 * migration that converted the table is hand-written and the service creates the months ahead
 * (ledger_partitions_ensure()). The key includes `created_at` because PostgreSQL requires the
 * partition key in every unique index of a partitioned table.
 */
export const ledgerEntries = pgTable(
  'ledger_entries',
  {
    id: bigint('id', { mode: 'number' }).notNull().generatedAlwaysAsIdentity(),
    transactionId: uuid('transaction_id')
      .notNull()
      .references(() => ledgerTransactions.id),
    walletId: uuid('wallet_id'),
    systemAccount: text('system_account'),
    amountCents: cents('amount').notNull(),
    createdAt: timestamptz('created_at').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.id, t.createdAt] }),
    // A wallet's postings newest first: a page reads the newest partition's index and stops there.
    index('ledger_entries_wallet_id_created_at_id_idx')
      .on(t.walletId, t.createdAt.desc(), t.id.desc())
      .where(sql`${t.walletId} IS NOT NULL`),
    index('ledger_entries_transaction_id_idx').on(t.transactionId),
    index('ledger_entries_created_at_idx').on(t.createdAt),
    // Funding and payout postings by time: a report's partial edge hours read only these.
    index('ledger_entries_system_created_at_idx').on(t.createdAt).where(sql`${t.systemAccount} IS NOT NULL`),
    check('ledger_entries_amount_non_zero', sql`${t.amountCents} <> 0`),
    // receivables: what wallets owe after refunds they could not cover (ADR 0017).
    // payouts_pending: withdrawals waiting for the payment rail; holds: authorized purchases (ADR 0018).
    check(
      'ledger_entries_system_account',
      sql`${t.systemAccount} IN ('funding', 'payout', 'receivables', 'payouts_pending', 'holds')`,
    ),
    check('ledger_entries_one_account', sql`(${t.walletId} IS NULL) <> (${t.systemAccount} IS NULL)`),
  ],
);

export const deposits = pgTable(
  'deposits',
  {
    id: uuid('id')
      .primaryKey()
      .references(() => ledgerTransactions.id),
    userId: uuid('user_id').notNull(),
    idempotencyKey: text('idempotency_key'),
    requestHash: text('request_hash').notNull(),
    walletId: uuid('wallet_id')
      .notNull()
      .references(() => wallets.id),
    amountCents: cents('amount').notNull(),
    // The wallet as the deposit left it, so a replay returns the same body.
    balanceAfterCents: cents('balance_after').notNull(),
    carryAfterCentiCents: integer('fractional_balance_after').notNull(),
    debtAfterCents: cents('debt_after').notNull().default(0),
    // Of amount, the cents that repaid the wallet's debt (posted to receivables, not the wallet).
    debtRepaidCents: cents('debt_repaid').notNull().default(0),
    createdAt: timestamptz('created_at').notNull(),
  },
  (t) => [
    uniqueIndex('deposits_user_id_idempotency_key_key')
      .on(t.userId, t.idempotencyKey)
      .where(sql`${t.idempotencyKey} IS NOT NULL`),
    index('deposits_wallet_id_idx').on(t.walletId),
    check('deposits_amount_range', sql`${t.amountCents} BETWEEN 1 AND 1000000000`),
    check('deposits_debt_repaid_range', sql`${t.debtRepaidCents} BETWEEN 0 AND ${t.amountCents}`),
    // Reconciliation's debt check reads only the deposits that repaid a debt.
    index('deposits_debt_repaid_idx').on(t.walletId).where(sql`${t.debtRepaidCents} > 0`),
  ],
);

export const withdrawals = pgTable(
  'withdrawals',
  {
    id: uuid('id')
      .primaryKey()
      .references(() => ledgerTransactions.id),
    userId: uuid('user_id').notNull(),
    idempotencyKey: text('idempotency_key').notNull(),
    requestHash: text('request_hash').notNull(),
    walletId: uuid('wallet_id')
      .notNull()
      .references(() => wallets.id),
    amountCents: cents('amount').notNull(),
    // Opaque to the service: where the payment rail should send the money (ADR 0018).
    destination: text('destination'),
    // The account the withdrawal posted to. Withdrawals from before payouts had a lifecycle went
    // straight to `payout` (paid at once); every new one waits in `payouts_pending` (ADR 0018).
    postedTo: text('posted_to').notNull().default('payout'),
    createdAt: timestamptz('created_at').notNull(),
  },
  (t) => [
    uniqueIndex('withdrawals_user_id_idempotency_key_key').on(t.userId, t.idempotencyKey),
    // A wallet's withdrawals page newest first by (created_at, id): one index range scan.
    index('withdrawals_wallet_id_created_at_id_idx').on(t.walletId, t.createdAt, t.id),
    check('withdrawals_amount_range', sql`${t.amountCents} BETWEEN 1 AND 1000000000`),
    check('withdrawals_destination_length', sql`char_length(${t.destination}) BETWEEN 1 AND 200`),
    check('withdrawals_posted_to', sql`${t.postedTo} IN ('payout', 'payouts_pending')`),
  ],
);

export const purchases = pgTable(
  'purchases',
  {
    id: uuid('id')
      .primaryKey()
      .references(() => ledgerTransactions.id),
    userId: uuid('user_id').notNull(),
    idempotencyKey: text('idempotency_key').notNull(),
    requestHash: text('request_hash').notNull(),
    buyerWalletId: uuid('buyer_wallet_id')
      .notNull()
      .references(() => wallets.id),
    authorWalletId: uuid('author_wallet_id')
      .notNull()
      .references(() => wallets.id),
    itemPriceCents: cents('item_price').notNull(),
    royaltyPercent: smallint('royalty_percent').notNull(),
    authorAmountCents: cents('author_amount').notNull(),
    platformAmountCents: cents('platform_amount').notNull(),
    carryBeforeCentiCents: smallint('fractional_before').notNull(),
    carryAfterCentiCents: smallint('fractional_after').notNull(),
    // Of author_amount, the cents that repaid the author's debt (posted to receivables, ADR 0017).
    authorDebtRepaidCents: cents('author_debt_repaid').notNull().default(0),
    // Of platform_amount, the cents that repaid the platform wallet's own debt (to receivables, ADR 0017).
    platformDebtRepaidCents: cents('platform_debt_repaid').notNull().default(0),
    // Of a negative platform_amount (split payees swept more than the price, ADR 0045), the cents
    // the platform's balance could not cover: its debt, fronted by receivables (ADR 0017).
    platformDebtCents: cents('platform_debt').notNull().default(0),
    status: text('status').notNull().default('completed'),
    // What was bought (the caller's own catalogue id) and the caller's notes on the sale; optional.
    itemId: text('item_id'),
    metadata: jsonb('metadata').$type<Record<string, string>>(),
    // The royalty terms version the purchase was split by (ADR 0045); null: one author, as in v1.
    // A split purchase's author_wallet_id is its first payee, its author_amount the cents of all
    // payees, its fractional_before/after the sums of their carries (so the carry CHECK below
    // holds for the whole), and purchase_payees holds each payee's part.
    royaltyTermsVersion: integer('royalty_terms_version'),
    // The buyer's leg was paid from the holds account, not the buyer's wallet: a capture (ADR 0018)
    // buys with the held cents themselves, so a buyer who fell into debt since the authorization
    // does not repay it with them first.
    paidFromHold: boolean('paid_from_hold').notNull().default(false),
    createdAt: timestamptz('created_at').notNull(),
  },
  (t) => [
    uniqueIndex('purchases_user_id_idempotency_key_key').on(t.userId, t.idempotencyKey),
    // Purchase search pages newest first by (created_at, id) within one buyer, author or item:
    // a page is one index range scan, whatever the size of the table.
    index('purchases_buyer_wallet_id_created_at_id_idx').on(t.buyerWalletId, t.createdAt, t.id),
    index('purchases_author_wallet_id_created_at_id_idx').on(t.authorWalletId, t.createdAt, t.id),
    index('purchases_item_id_created_at_id_idx').on(t.itemId, t.createdAt, t.id).where(sql`${t.itemId} IS NOT NULL`),
    check('purchases_item_id_format', sql`${t.itemId} ~ '^[A-Za-z0-9_.:/-]{1,200}$'`),
    check('purchases_metadata_object', sql`jsonb_typeof(${t.metadata}) = 'object'`),
    index('purchases_created_at_idx').on(t.createdAt),
    check('purchases_item_price_range', sql`${t.itemPriceCents} BETWEEN 1 AND 1000000000`),
    check('purchases_split_sums_to_price', sql`${t.authorAmountCents} + ${t.platformAmountCents} = ${t.itemPriceCents}`),
    check('purchases_not_self', sql`${t.buyerWalletId} <> ${t.authorWalletId}`),
    check('purchases_author_debt_repaid_range', sql`${t.authorDebtRepaidCents} BETWEEN 0 AND ${t.authorAmountCents}`),
    // Reconciliation's debt check reads only the purchases whose royalty repaid a debt.
    index('purchases_author_debt_repaid_idx').on(t.authorWalletId).where(sql`${t.authorDebtRepaidCents} > 0`),
    check(
      'purchases_platform_debt_repaid_range',
      sql`${t.platformDebtRepaidCents} BETWEEN 0 AND greatest(${t.platformAmountCents}, 0)`,
    ),
    index('purchases_platform_debt_repaid_idx').on(t.createdAt).where(sql`${t.platformDebtRepaidCents} > 0`),
    check('purchases_platform_debt_range', sql`${t.platformDebtCents} BETWEEN 0 AND greatest(-${t.platformAmountCents}, 0)`),
    index('purchases_platform_debt_idx').on(t.createdAt).where(sql`${t.platformDebtCents} > 0`),
    check(
      'purchases_carry_identity',
      sql`100 * ${t.authorAmountCents} + ${t.carryAfterCentiCents} = ${t.itemPriceCents} * ${t.royaltyPercent} + ${t.carryBeforeCentiCents}`,
    ),
  ],
);

/**
 * Refunds of purchases (ADR 0017): the buyer gets `amount` back; the author side gives up exactly
 * `amount * royalty_percent` centi-cents of its position, the platform the rest. Append-only; the
 * refunded total of a purchase is the sum of its rows, taken under the author's wallet lock.
 */
export const refunds = pgTable(
  'refunds',
  {
    id: uuid('id')
      .primaryKey()
      .references(() => ledgerTransactions.id),
    purchaseId: uuid('purchase_id')
      .notNull()
      .references(() => purchases.id),
    userId: uuid('user_id').notNull(),
    idempotencyKey: text('idempotency_key').notNull(),
    requestHash: text('request_hash').notNull(),
    amountCents: cents('amount').notNull(),
    // Copied from the purchase, so the CHECKs below stand on the row alone.
    royaltyPercent: smallint('royalty_percent').notNull(),
    authorAmountCents: cents('author_amount').notNull(),
    platformAmountCents: cents('platform_amount').notNull(),
    carryBeforeCentiCents: smallint('fractional_before').notNull(),
    carryAfterCentiCents: smallint('fractional_after').notNull(),
    // Parts of author_amount and platform_amount that became debt, and buyer debt the refund repaid.
    authorDebtCents: cents('author_debt').notNull(),
    platformDebtCents: cents('platform_debt').notNull(),
    buyerDebtRepaidCents: cents('buyer_debt_repaid').notNull(),
    // Of a negative platform_amount (split payees gave up more than the refund, ADR 0045), the
    // cents that repaid the platform's debt, posted to receivables (ADR 0017).
    platformDebtRepaidCents: cents('platform_debt_repaid').notNull().default(0),
    reason: text('reason'),
    // Copied from the purchase: a split refund's parts are in refund_payees (ADR 0045).
    royaltyTermsVersion: integer('royalty_terms_version'),
    createdAt: timestamptz('created_at').notNull(),
  },
  (t) => [
    uniqueIndex('refunds_user_id_idempotency_key_key').on(t.userId, t.idempotencyKey),
    index('refunds_purchase_id_idx').on(t.purchaseId),
    index('refunds_created_at_idx').on(t.createdAt),
    check('refunds_amount_range', sql`${t.amountCents} BETWEEN 1 AND 1000000000`),
    check('refunds_split_sums_to_amount', sql`${t.authorAmountCents} + ${t.platformAmountCents} = ${t.amountCents}`),
    // A split refund rounds each payee's part to whole cents on its own, so its payees may give up
    // a few cents more (or, rarely, less) than one author would: the platform covers the difference
    // (ADR 0045). refund_payees holds each payee's exact part.
    check(
      'refunds_parts_non_negative',
      sql`${t.royaltyTermsVersion} IS NOT NULL OR (${t.authorAmountCents} >= 0 AND ${t.platformAmountCents} >= 0)`,
    ),
    check(
      'refunds_debt_within_parts',
      sql`${t.authorDebtCents} >= 0 AND (${t.royaltyTermsVersion} IS NOT NULL OR ${t.authorDebtCents} <= ${t.authorAmountCents}) AND ${t.platformDebtCents} BETWEEN 0 AND greatest(${t.platformAmountCents}, 0) AND ${t.buyerDebtRepaidCents} BETWEEN 0 AND ${t.amountCents}`,
    ),
    check('refunds_platform_debt_repaid_range', sql`${t.platformDebtRepaidCents} BETWEEN 0 AND greatest(-${t.platformAmountCents}, 0)`),
    index('refunds_platform_debt_repaid_idx').on(t.createdAt).where(sql`${t.platformDebtRepaidCents} > 0`),
    check(
      'refunds_carry_identity',
      sql`100 * ${t.authorAmountCents} + ${t.carryBeforeCentiCents} = ${t.amountCents} * ${t.royaltyPercent} + ${t.carryAfterCentiCents}`,
    ),
    check('refunds_reason_length', sql`char_length(${t.reason}) <= 500`),
  ],
);

/**
 * Royalty terms per item (ADR 0045), versioned: a PUT adds version n + 1 and never changes an
 * older one, so a purchase (which records its version) and its refunds keep the terms they had.
 * Payees and their shares (basis points of the author side) are parallel arrays in payee order.
 */
export const royaltyTerms = pgTable(
  'royalty_terms',
  {
    itemId: text('item_id').notNull(),
    version: integer('version').notNull(),
    royaltyPercent: smallint('royalty_percent').notNull(),
    payeeWalletIds: uuid('payee_wallet_ids').array().notNull(),
    payeeSharesBps: integer('payee_shares_bps').array().notNull(),
    createdBy: uuid('created_by').notNull(),
    createdAt: timestamptz('created_at').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.itemId, t.version] }),
    check('royalty_terms_version_positive', sql`${t.version} >= 1`),
    check('royalty_terms_item_id_format', sql`${t.itemId} ~ '^[A-Za-z0-9_.:/-]{1,200}$'`),
    check('royalty_terms_percent_range', sql`${t.royaltyPercent} BETWEEN 0 AND 100`),
    check(
      'royalty_terms_payee_count',
      sql`cardinality(${t.payeeWalletIds}) BETWEEN 1 AND 10 AND cardinality(${t.payeeSharesBps}) = cardinality(${t.payeeWalletIds})`,
    ),
    check('royalty_terms_share_range', sql`1 <= ALL (${t.payeeSharesBps}) AND 10000 >= ALL (${t.payeeSharesBps})`),
    // The shares make the whole author side: at most ten terms, summed without a subquery.
    check(
      'royalty_terms_shares_sum',
      sql.raw(
        `${Array.from({ length: 10 }, (_, i) => `coalesce(payee_shares_bps[${i + 1}], 0)`).join(' + ')} = 10000`,
      ),
    ),
  ],
);

/**
 * Each payee's part of a split purchase (ADR 0045): part_centi_cents is its exact share of
 * price * royalty_percent, amount the whole cents it was credited with its carry.
 */
export const purchasePayees = pgTable(
  'purchase_payees',
  {
    purchaseId: uuid('purchase_id')
      .notNull()
      .references(() => purchases.id),
    position: smallint('position').notNull(),
    walletId: uuid('wallet_id').notNull(),
    shareBps: integer('share_bps').notNull(),
    partCentiCents: bigint('part_centi_cents', { mode: 'number' }).notNull(),
    amountCents: cents('amount_cents').notNull(),
    carryBeforeCentiCents: smallint('carry_before_centi_cents').notNull(),
    carryAfterCentiCents: smallint('carry_after_centi_cents').notNull(),
    // Of amount_cents, the cents that repaid the payee's debt (posted to receivables, ADR 0017).
    debtRepaidCents: cents('debt_repaid_cents').notNull(),
    createdAt: timestamptz('created_at').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.purchaseId, t.position] }),
    index('purchase_payees_wallet_id_created_at_idx').on(t.walletId, t.createdAt, t.purchaseId),
    check('purchase_payees_position_range', sql`${t.position} BETWEEN 1 AND 10`),
    check('purchase_payees_share_range', sql`${t.shareBps} BETWEEN 1 AND 10000`),
    check('purchase_payees_part_non_negative', sql`${t.partCentiCents} >= 0`),
    check(
      'purchase_payees_carry_identity',
      sql`100 * ${t.amountCents} + ${t.carryAfterCentiCents} = ${t.partCentiCents} + ${t.carryBeforeCentiCents}`,
    ),
    check('purchase_payees_carry_range', sql`${t.carryBeforeCentiCents} BETWEEN 0 AND 99 AND ${t.carryAfterCentiCents} BETWEEN 0 AND 99`),
    check('purchase_payees_debt_repaid_range', sql`${t.debtRepaidCents} BETWEEN 0 AND ${t.amountCents}`),
  ],
);

/**
 * Each payee's part of a split refund (ADR 0045): part_centi_cents is the difference of the
 * payee's division of the cumulative refunded amount after and before this refund (it may be
 * negative by a centi-cent: largest remainder is not monotone); amount_cents is what left (or,
 * negative, reached) its balance, debt_cents what of it became debt, debt_repaid_cents what of a
 * credit repaid debt.
 */
export const refundPayees = pgTable(
  'refund_payees',
  {
    refundId: uuid('refund_id')
      .notNull()
      .references(() => refunds.id),
    position: smallint('position').notNull(),
    walletId: uuid('wallet_id').notNull(),
    partCentiCents: bigint('part_centi_cents', { mode: 'number' }).notNull(),
    amountCents: cents('amount_cents').notNull(),
    carryBeforeCentiCents: smallint('carry_before_centi_cents').notNull(),
    carryAfterCentiCents: smallint('carry_after_centi_cents').notNull(),
    debtCents: cents('debt_cents').notNull(),
    debtRepaidCents: cents('debt_repaid_cents').notNull(),
    createdAt: timestamptz('created_at').notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.refundId, t.position] }),
    // A wallet's split refunds by time: balance at an instant reads those after its snapshot (ADR 0068).
    index('refund_payees_wallet_id_created_at_idx').on(t.walletId, t.createdAt),
    check(
      'refund_payees_carry_identity',
      sql`100 * ${t.amountCents} + ${t.carryBeforeCentiCents} = ${t.partCentiCents} + ${t.carryAfterCentiCents}`,
    ),
    check('refund_payees_carry_range', sql`${t.carryBeforeCentiCents} BETWEEN 0 AND 99 AND ${t.carryAfterCentiCents} BETWEEN 0 AND 99`),
    check('refund_payees_debt_range', sql`${t.debtCents} BETWEEN 0 AND greatest(${t.amountCents}, 0)`),
    check('refund_payees_debt_repaid_range', sql`${t.debtRepaidCents} BETWEEN 0 AND greatest(-${t.amountCents}, 0)`),
  ],
);

const totalsColumns = {
  depositedCents: cents('deposited').notNull().default(0),
  withdrawnCents: cents('withdrawn').notNull().default(0),
  purchaseVolumeCents: cents('purchase_volume').notNull().default(0),
  royaltiesCents: cents('royalties').notNull().default(0),
  platformRevenueCents: cents('platform_revenue').notNull().default(0),
  purchaseCount: bigint('purchase_count', { mode: 'number' }).notNull().default(0),
  // Refunds, kept gross beside the purchase figures; reports show royalties and revenue net.
  refundedCents: cents('refunded').notNull().default(0),
  royaltiesRefundedCents: cents('royalties_refunded').notNull().default(0),
  platformRevenueRefundedCents: cents('platform_revenue_refunded').notNull().default(0),
  refundCount: bigint('refund_count', { mode: 'number' }).notNull().default(0),
  // Payouts that left the pending account (ADR 0018): settled, or failed and returned to the
  // wallet. `withdrawn` already counts a failed payout back out when it fails.
  payoutsPaidCents: cents('payouts_paid').notNull().default(0),
  payoutsFailedCents: cents('payouts_failed').notNull().default(0),
};

/** All-time running totals, split into slot rows (see stat_slot()) summed on read. */
export const runningTotals = pgTable('running_totals', {
  slot: smallint('slot').primaryKey(),
  ...totalsColumns,
});

/** The same totals per UTC hour (and slot), for period reports. */
export const hourlyRollups = pgTable(
  'hourly_rollups',
  {
    bucketStart: timestamptz('bucket_start').notNull(),
    slot: smallint('slot').notNull(),
    ...totalsColumns,
  },
  (t) => [primaryKey({ columns: [t.bucketStart, t.slot] })],
);

/** Per-author sales per UTC hour. The author's wallet row is locked anyway, so no slots. */
export const authorHourlyRollups = pgTable(
  'author_hourly_rollups',
  {
    authorWalletId: uuid('author_wallet_id').notNull(),
    bucketStart: timestamptz('bucket_start').notNull(),
    salesCount: bigint('sales_count', { mode: 'number' }).notNull().default(0),
    grossVolumeCents: cents('gross_volume').notNull().default(0),
    royaltyCents: cents('royalty').notNull().default(0),
    refundedVolumeCents: cents('refunded_volume').notNull().default(0),
    royaltyRefundedCents: cents('royalty_refunded').notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.authorWalletId, t.bucketStart] }),
    index('author_hourly_rollups_bucket_start_idx').on(t.bucketStart),
  ],
);

/**
 * Per-item sales per payee and UTC hour (ADR 0066), for the leaderboard of one item: written in
 * the purchase's (and refund's) transaction only for purchases that name an item, so purchases
 * without one pay nothing. Keyed item first, so one item's period is one index range.
 */
export const itemAuthorHourlyRollups = pgTable(
  'item_author_hourly_rollups',
  {
    itemId: text('item_id').notNull(),
    authorWalletId: uuid('author_wallet_id').notNull(),
    bucketStart: timestamptz('bucket_start').notNull(),
    salesCount: bigint('sales_count', { mode: 'number' }).notNull().default(0),
    grossVolumeCents: cents('gross_volume').notNull().default(0),
    royaltyCents: cents('royalty').notNull().default(0),
    refundedVolumeCents: cents('refunded_volume').notNull().default(0),
    royaltyRefundedCents: cents('royalty_refunded').notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.itemId, t.bucketStart, t.authorWalletId] }),
    index('item_author_hourly_rollups_bucket_start_idx').on(t.bucketStart),
  ],
);

/**
 * The same per-author sales per UTC day, kept beside the hourly rows in the purchase's
 * transaction, so a long period's leaderboard reads one row per author and day.
 */
export const authorDailyRollups = pgTable(
  'author_daily_rollups',
  {
    authorWalletId: uuid('author_wallet_id').notNull(),
    dayStart: timestamptz('day_start').notNull(),
    salesCount: bigint('sales_count', { mode: 'number' }).notNull().default(0),
    grossVolumeCents: cents('gross_volume').notNull().default(0),
    royaltyCents: cents('royalty').notNull().default(0),
    refundedVolumeCents: cents('refunded_volume').notNull().default(0),
    royaltyRefundedCents: cents('royalty_refunded').notNull().default(0),
  },
  (t) => [
    primaryKey({ columns: [t.authorWalletId, t.dayStart] }),
    index('author_daily_rollups_day_start_idx').on(t.dayStart),
  ],
);

export const financialReports = pgTable(
  'financial_reports',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    requestedBy: uuid('requested_by').notNull(),
    status: text('status').notNull().default('queued'),
    periodFrom: timestamptz('period_from'),
    periodTo: timestamptz('period_to'),
    result: jsonb('result'),
    error: text('error'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    startedAt: timestamptz('started_at'),
    completedAt: timestamptz('completed_at'),
  },
  (t) => [check('financial_reports_status', sql`${t.status} IN ('queued', 'processing', 'completed', 'failed')`)],
);

/**
 * One reconciliation run: what it checked, every drift it found (before and after values, and
 * whether it was corrected), bounded by the run's own limit on stored drift details.
 */
export const reconciliationRuns = pgTable(
  'reconciliation_runs',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    trigger: text('trigger').notNull(),
    requestedBy: uuid('requested_by'),
    status: text('status').notNull().default('queued'),
    fixBalances: boolean('fix_balances').notNull().default(false),
    // full: every check over all the books; incremental: what changed since the last clean run
    // plus the slice of the rolling sweep that is due (ADR 0028).
    scope: text('scope').notNull().default('full'),
    checked: jsonb('checked'),
    drifts: jsonb('drifts').notNull().default(sql`'[]'::jsonb`),
    driftCount: integer('drift_count').notNull().default(0),
    correctedCount: integer('corrected_count').notNull().default(0),
    error: text('error'),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    startedAt: timestamptz('started_at'),
    finishedAt: timestamptz('finished_at'),
  },
  (t) => [
    check('reconciliation_runs_trigger', sql`${t.trigger} IN ('schedule', 'manual')`),
    check('reconciliation_runs_status', sql`${t.status} IN ('queued', 'running', 'completed', 'failed')`),
    check('reconciliation_runs_scope', sql`${t.scope} IN ('full', 'incremental')`),
    index('reconciliation_runs_active_idx')
      .on(t.createdAt)
      .where(sql`${t.status} IN ('queued', 'running')`),
    // The last clean run: where an incremental run's window of changes starts.
    index('reconciliation_runs_clean_idx')
      .on(t.startedAt)
      .where(sql`${t.status} = 'completed' AND ${t.driftCount} = ${t.correctedCount}`),
  ],
);

/**
 * One cycle of the rolling full sweep (ADR 0028): incremental runs each check the slice of every
 * key space that the clock says is due, so that the cycle covers all the books within its period.
 * The bounds of the ordered key spaces are fixed when the cycle starts; what arrives later is
 * checked as a change, and by the next cycle.
 */
export const reconciliationSweeps = pgTable(
  'reconciliation_sweeps',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    startedAt: timestamptz('started_at').notNull(),
    periodMs: bigint('period_ms', { mode: 'number' }).notNull(),
    // Fraction of every key space already checked, 0 to 1.
    sweptFraction: doublePrecision('swept_fraction').notNull().default(0),
    entryIdMin: bigint('entry_id_min', { mode: 'number' }),
    entryIdMax: bigint('entry_id_max', { mode: 'number' }),
    firstDay: timestamptz('first_day'),
    lastDay: timestamptz('last_day'),
    finishedAt: timestamptz('finished_at'),
  },
  (t) => [
    check('reconciliation_sweeps_fraction', sql`${t.sweptFraction} BETWEEN 0 AND 1`),
    // At most one cycle in progress.
    uniqueIndex('reconciliation_sweeps_open_key').on(sql`(true)`).where(sql`${t.finishedAt} IS NULL`),
  ],
);

/**
 * A wallet's figures as its ledger gave them for everything before `through` (ADR 0028), so that
 * an incremental run checks a busy wallet by reading only what it posted since. Derived from the
 * ledger alone, never from the wallet row; a full run and the sweep take them again from the
 * whole ledger of the wallets they check, so none outlives a sweep period.
 */
export const walletLedgerCheckpoints = pgTable('wallet_ledger_checkpoints', {
  walletId: uuid('wallet_id').primaryKey(),
  through: timestamptz('through').notNull(),
  balanceCents: cents('balance').notNull(),
  // sum(price * royalty percent) - 100 * royalty cents credited, refunds taken off: the carry.
  carryCentiCents: bigint('carry', { mode: 'number' }).notNull(),
  debtCents: cents('debt').notNull(),
});
