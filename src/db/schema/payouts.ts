import { sql } from 'drizzle-orm';
import { bigint, check, index, integer, pgTable, text, timestamp, uniqueIndex, uuid } from 'drizzle-orm/pg-core';
import { ledgerTransactions, wallets, withdrawals } from './index';

// As in index.ts: millisecond timestamps and cents as JavaScript numbers.
const timestamptz = (name: string) => timestamp(name, { withTimezone: true, precision: 3, mode: 'date' });
const cents = (name: string) => bigint(name, { mode: 'number' });

/**
 * How a pending payout ended (ADR 0018): paid (the pending account paid it to the payout account)
 * or failed (the money went back to the wallet). Append-only, and one row per withdrawal at most:
 * the unique withdrawal_id is what makes each transition happen once, whatever races it.
 */
export const withdrawalOutcomes = pgTable(
  'withdrawal_outcomes',
  {
    // The ledger transaction that moved the money out of the pending account.
    id: uuid('id')
      .primaryKey()
      .references(() => ledgerTransactions.id),
    withdrawalId: uuid('withdrawal_id')
      .notNull()
      .references(() => withdrawals.id),
    status: text('status').notNull(),
    // Copied from the withdrawal, so that reports and reconciliation read outcomes alone.
    amountCents: cents('amount').notNull(),
    reason: text('reason'),
    resolvedBy: uuid('resolved_by').notNull(),
    createdAt: timestamptz('created_at').notNull(),
  },
  (t) => [
    uniqueIndex('withdrawal_outcomes_withdrawal_id_key').on(t.withdrawalId),
    // Period reports read the failed payouts of their partial edge hours by time.
    index('withdrawal_outcomes_created_at_idx').on(t.createdAt),
    check('withdrawal_outcomes_status', sql`${t.status} IN ('paid', 'failed')`),
    check('withdrawal_outcomes_amount_range', sql`${t.amountCents} BETWEEN 1 AND 1000000000`),
    check('withdrawal_outcomes_reason_length', sql`char_length(${t.reason}) BETWEEN 1 AND 500`),
    // A failed payout says why; a paid one has nothing to explain.
    check('withdrawal_outcomes_reason_when_failed', sql`(${t.status} = 'failed') = (${t.reason} IS NOT NULL)`),
  ],
);

/** A wallet's default payout destination, used by payout runs (ADR 0018). */
export const payoutDestinations = pgTable(
  'payout_destinations',
  {
    walletId: uuid('wallet_id')
      .primaryKey()
      .references(() => wallets.id),
    destination: text('destination').notNull(),
    updatedAt: timestamptz('updated_at').notNull(),
  },
  (t) => [check('payout_destinations_destination_length', sql`char_length(${t.destination}) BETWEEN 1 AND 200`)],
);

/**
 * One payout run: a pending payout for every wallet at or above the minimum with a destination.
 * Each payout's idempotency key names the run, so a run that is resumed (same key) or raced
 * never pays a wallet twice.
 */
export const payoutRuns = pgTable(
  'payout_runs',
  {
    id: uuid('id').primaryKey(),
    requestedBy: uuid('requested_by').notNull(),
    idempotencyKey: text('idempotency_key').notNull(),
    minimumCents: cents('minimum').notNull(),
    payoutCount: integer('payout_count').notNull().default(0),
    totalCents: cents('total').notNull().default(0),
    createdAt: timestamptz('created_at').notNull(),
    completedAt: timestamptz('completed_at'),
  },
  (t) => [
    uniqueIndex('payout_runs_requested_by_idempotency_key_key').on(t.requestedBy, t.idempotencyKey),
    check('payout_runs_minimum_positive', sql`${t.minimumCents} >= 1`),
  ],
);
