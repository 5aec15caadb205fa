import { sql } from 'drizzle-orm';
import { bigint, check, pgTable, primaryKey, smallint, timestamp, uuid } from 'drizzle-orm/pg-core';

// As in index.ts: millisecond timestamps and cents as JavaScript numbers.
const timestamptz = (name: string) => timestamp(name, { withTimezone: true, precision: 3, mode: 'date' });

/**
 * A wallet's position as its ledger gives it for everything made at or before `as_of` (ADR 0068):
 * the balance (sum of its postings), the carry its royalty identity leaves, and how many postings
 * that was. Written by the worker's sweep (wallet_position_snapshots_sweep), never by a money
 * function; balance?at= starts from the latest one at or before its instant. A derived cache:
 * reconciliation's full run compares each with the ledger and deletes a wrong one.
 */
export const walletPositionSnapshots = pgTable(
  'wallet_position_snapshots',
  {
    walletId: uuid('wallet_id').notNull(),
    asOf: timestamptz('as_of').notNull(),
    balanceCents: bigint('balance_cents', { mode: 'number' }).notNull(),
    carryCentiCents: bigint('carry_centi_cents', { mode: 'number' }).notNull(),
    postings: bigint('postings', { mode: 'number' }).notNull(),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
  },
  (t) => [
    // Also the read's index: the latest snapshot at or before an instant is one probe.
    primaryKey({ columns: [t.walletId, t.asOf] }),
    check('wallet_position_snapshots_postings_non_negative', sql`${t.postings} >= 0`),
  ],
);

/**
 * Postings made since each wallet's latest snapshot, counted by the sweep from the ledger's
 * created_at index (only the sweep's own window each time); a wallet is snapshotted once its
 * count reaches the cadence, and its row is then removed.
 */
export const walletPositionPending = pgTable('wallet_position_pending', {
  walletId: uuid('wallet_id').primaryKey(),
  postings: bigint('postings', { mode: 'number' }).notNull(),
});

/**
 * The sweep's one row: every posting made at or before `swept_to` has been counted in
 * wallet_position_pending. Its row lock is what makes one sweep run at a time across workers.
 */
export const walletPositionSweep = pgTable(
  'wallet_position_sweep',
  {
    id: smallint('id').primaryKey(),
    sweptTo: timestamptz('swept_to').notNull(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [check('wallet_position_sweep_one_row', sql`${t.id} = 1`)],
);
