import { sql } from 'drizzle-orm';
import {
  bigint,
  boolean,
  check,
  customType,
  index,
  integer,
  json,
  jsonb,
  pgTable,
  primaryKey,
  smallint,
  text,
  timestamp,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { EVENT_TYPES } from '../../events/event-types';

// As in index.ts: millisecond timestamps, what the API shows is what is stored.
const timestamptz = (name: string) => timestamp(name, { withTimezone: true, precision: 3, mode: 'date' });

/** A 64-bit transaction id (never wraps); read back as a decimal string. */
const xid8 = customType<{ data: string; driverData: string }>({ dataType: () => 'xid8' });

export { EVENT_TYPES, type EventType } from '../../events/event-types';
const EVENT_TYPES_SQL = sql.raw(EVENT_TYPES.map((type) => `'${type}'`).join(', '));

/**
 * The outbox (ADR 0030): one row per money movement, inserted by the money function in the
 * movement's own transaction (events_append), so an event exists if and only if the movement
 * committed. Append-only by trigger. The feed reads in (xid, seq) order and only below the
 * oldest transaction still in flight, so a reader never passes an event that commits later.
 */
export const events = pgTable(
  'events',
  {
    id: uuid('id').primaryKey(),
    // The writing transaction (pg_current_xact_id()), then the insert order: the feed position.
    xid: xid8('xid')
      .notNull()
      .default(sql`pg_current_xact_id()`),
    seq: bigint('seq', { mode: 'number' }).notNull().generatedAlwaysAsIdentity(),
    type: text('type').notNull(),
    // The wallets whose owners may read the event: the actor's, and the other party's if any.
    walletId: uuid('wallet_id').notNull(),
    counterpartyWalletId: uuid('counterparty_wallet_id'),
    // The resource exactly as the API returns it; json keeps the API's key order.
    data: json('data').notNull(),
    createdAt: timestamptz('created_at').notNull(),
  },
  (t) => [
    uniqueIndex('events_feed_position_key').on(t.xid, t.seq),
    index('events_wallet_feed_idx').on(t.walletId, t.xid, t.seq),
    index('events_counterparty_feed_idx')
      .on(t.counterpartyWalletId, t.xid, t.seq)
      .where(sql`${t.counterpartyWalletId} IS NOT NULL`),
    check('events_type', sql`${t.type} IN (${EVENT_TYPES_SQL})`),
  ],
);

/**
 * Further wallets whose owners may read an event, beyond `wallet_id` and `counterparty_wallet_id`
 * (ADR 0067): the payees after the first of a split purchase (ADR 0045), for its
 * purchase.completed and its refunds' refund.created. Written only for split purchases, so
 * every other event costs nothing; keyed like the feed indexes, so a wallet's share of the feed
 * is one index range.
 */
export const eventParties = pgTable(
  'event_parties',
  {
    walletId: uuid('wallet_id').notNull(),
    xid: xid8('xid').notNull(),
    seq: bigint('seq', { mode: 'number' }).notNull(),
    eventId: uuid('event_id')
      .notNull()
      .references(() => events.id),
  },
  (t) => [primaryKey({ columns: [t.walletId, t.xid, t.seq] })],
);

/**
 * Where webhook dispatch has read the feed up to (one row). Locked by the dispatching
 * transaction, so that one dispatcher at a time turns events into deliveries.
 */
export const webhookDispatchCursor = pgTable(
  'webhook_dispatch_cursor',
  {
    id: smallint('id').primaryKey(),
    afterXid: xid8('after_xid').notNull(),
    afterSeq: bigint('after_seq', { mode: 'number' }).notNull(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [check('webhook_dispatch_cursor_one_row', sql`${t.id} = 1`)],
);

/**
 * Registered receivers (ADR 0031). The signing secret is stored encrypted with
 * WEBHOOK_SECRET_KEY (AES-256-GCM), so a database dump alone cannot sign; the previous
 * secret stays valid until `previous_secret_expires_at` after a rotation.
 */
export const webhookEndpoints = pgTable(
  'webhook_endpoints',
  {
    id: uuid('id').primaryKey().defaultRandom(),
    url: text('url').notNull(),
    description: text('description'),
    eventTypes: text('event_types').array().notNull(),
    enabled: boolean('enabled').notNull().default(true),
    disabledReason: text('disabled_reason'),
    secretCiphertext: text('secret_ciphertext').notNull(),
    previousSecretCiphertext: text('previous_secret_ciphertext'),
    previousSecretExpiresAt: timestamptz('previous_secret_expires_at'),
    // Set by the first failed attempt after a success; the endpoint is disabled once it is old enough.
    failingSince: timestamptz('failing_since'),
    createdBy: uuid('created_by').notNull(),
    createdAt: timestamptz('created_at').notNull().defaultNow(),
    updatedAt: timestamptz('updated_at').notNull().defaultNow(),
  },
  (t) => [
    check('webhook_endpoints_url_length', sql`length(${t.url}) BETWEEN 1 AND 2048`),
    check('webhook_endpoints_event_types', sql`cardinality(${t.eventTypes}) BETWEEN 1 AND 16`),
    index('webhook_endpoints_created_at_idx').on(t.createdAt, t.id),
  ],
);

/**
 * One delivery of one event to one endpoint: `feed` deliveries are made by dispatch (at most one
 * per endpoint and event), `redeliver` ones on request. PostgreSQL holds the state; a BullMQ
 * job only says "attempt now", so a lost job is re-enqueued from here.
 */
export const webhookDeliveries = pgTable(
  'webhook_deliveries',
  {
    id: uuid('id').primaryKey(),
    endpointId: uuid('endpoint_id')
      .notNull()
      .references(() => webhookEndpoints.id, { onDelete: 'cascade' }),
    eventId: uuid('event_id')
      .notNull()
      .references(() => events.id),
    origin: text('origin').notNull(),
    status: text('status').notNull().default('pending'),
    attemptCount: integer('attempt_count').notNull().default(0),
    nextAttemptAt: timestamptz('next_attempt_at'),
    lastStatusCode: integer('last_status_code'),
    lastError: text('last_error'),
    // Each attempt: {at, statusCode, latencyMs, error}; at most WEBHOOK_MAX_ATTEMPTS per delivery.
    attempts: jsonb('attempts').notNull().default(sql`'[]'::jsonb`),
    createdAt: timestamptz('created_at').notNull(),
    finishedAt: timestamptz('finished_at'),
  },
  (t) => [
    uniqueIndex('webhook_deliveries_feed_key')
      .on(t.endpointId, t.eventId)
      .where(sql`${t.origin} = 'feed'`),
    index('webhook_deliveries_endpoint_idx').on(t.endpointId, t.createdAt, t.id),
    index('webhook_deliveries_pending_idx')
      .on(t.nextAttemptAt)
      .where(sql`${t.status} = 'pending'`),
    index('webhook_deliveries_event_idx').on(t.eventId),
    check('webhook_deliveries_origin', sql`${t.origin} IN ('feed', 'redeliver')`),
    check('webhook_deliveries_status', sql`${t.status} IN ('pending', 'delivered', 'failed')`),
  ],
);
