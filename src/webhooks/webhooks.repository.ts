import { Injectable } from '@nestjs/common';
import { Database } from '../db/database';
import type { EventType } from '../events/event-types';
import { toDate } from '../db/sql-values';

export interface EndpointRow {
  id: string;
  url: string;
  description: string | null;
  eventTypes: EventType[];
  enabled: boolean;
  disabledReason: string | null;
  failingSince: Date | null;
  previousSecretExpiresAt: Date | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface AttemptRecord {
  at: string;
  statusCode: number | null;
  latencyMs: number;
  error: string | null;
}

export interface DeliveryRow {
  id: string;
  endpointId: string;
  eventId: string;
  eventType: EventType;
  origin: 'feed' | 'redeliver';
  status: 'pending' | 'delivered' | 'failed';
  attemptCount: number;
  nextAttemptAt: Date | null;
  lastStatusCode: number | null;
  lastError: string | null;
  attempts: AttemptRecord[];
  createdAt: Date;
  finishedAt: Date | null;
}

/** What one attempt needs, read when it is claimed. */
export interface ClaimedDelivery {
  deliveryId: string;
  endpointId: string;
  attemptCount: number;
  url: string;
  secretCiphertext: string;
  previousSecretCiphertext: string | null;
  event: { id: string; type: EventType; createdAt: Date; data: unknown };
}

export interface DispatchResult {
  events: { type: EventType; createdAt: Date }[];
  deliveries: { deliveryId: string; endpointId: string }[];
}

export interface EndpointPatch {
  url?: string;
  eventTypes?: EventType[];
  enabled?: boolean;
  description?: string | null;
}

const ENDPOINT_COLUMNS = `id, url, description, event_types, enabled, disabled_reason, failing_since,
  previous_secret_expires_at, created_at, updated_at`;

interface EndpointSqlRow {
  id: string;
  url: string;
  description: string | null;
  event_types: EventType[];
  enabled: boolean;
  disabled_reason: string | null;
  failing_since: Date | string | null;
  previous_secret_expires_at: Date | string | null;
  created_at: Date | string;
  updated_at: Date | string;
}

interface DeliverySqlRow {
  id: string;
  endpoint_id: string;
  event_id: string;
  event_type: EventType;
  origin: 'feed' | 'redeliver';
  status: 'pending' | 'delivered' | 'failed';
  attempt_count: number;
  next_attempt_at: Date | string | null;
  last_status_code: number | null;
  last_error: string | null;
  attempts: AttemptRecord[];
  created_at: Date | string;
  finished_at: Date | string | null;
}

@Injectable()
export class WebhooksRepository {
  constructor(private readonly database: Database) {}

  async createEndpoint(endpoint: {
    id: string;
    url: string;
    description: string | null;
    eventTypes: EventType[];
    secretCiphertext: string;
    createdBy: string;
  }): Promise<EndpointRow> {
    const sql = this.database.sql;
    const [row] = await sql<EndpointSqlRow[]>`
      INSERT INTO webhook_endpoints (id, url, description, event_types, secret_ciphertext, created_by)
      VALUES (${endpoint.id}::uuid, ${endpoint.url}, ${endpoint.description}, ${sql.array(endpoint.eventTypes)}::text[],
              ${endpoint.secretCiphertext}, ${endpoint.createdBy}::uuid)
      RETURNING ${sql.unsafe(ENDPOINT_COLUMNS)}`;
    return toEndpointRow(row!);
  }

  async listEndpoints(limit: number): Promise<EndpointRow[]> {
    const sql = this.database.sql;
    const rows = await sql<EndpointSqlRow[]>`
      SELECT ${sql.unsafe(ENDPOINT_COLUMNS)} FROM webhook_endpoints ORDER BY created_at, id LIMIT ${limit}`;
    return rows.map(toEndpointRow);
  }

  async findEndpoint(id: string): Promise<EndpointRow | undefined> {
    const sql = this.database.sql;
    const [row] = await sql<EndpointSqlRow[]>`
      SELECT ${sql.unsafe(ENDPOINT_COLUMNS)} FROM webhook_endpoints WHERE id = ${id}::uuid`;
    return row ? toEndpointRow(row) : undefined;
  }

  /** Re-enabling clears the failure record, so the endpoint gets a full grace period again. */
  async updateEndpoint(id: string, patch: EndpointPatch): Promise<EndpointRow | undefined> {
    const sql = this.database.sql;
    const [row] = await sql<EndpointSqlRow[]>`
      UPDATE webhook_endpoints SET
        url = coalesce(${patch.url ?? null}, url),
        event_types = coalesce(${patch.eventTypes ? sql.array(patch.eventTypes) : null}::text[], event_types),
        description = CASE WHEN ${patch.description !== undefined} THEN ${patch.description ?? null} ELSE description END,
        enabled = coalesce(${patch.enabled ?? null}::boolean, enabled),
        disabled_reason = CASE WHEN ${patch.enabled ?? null}::boolean IS NOT NULL THEN NULL ELSE disabled_reason END,
        failing_since = CASE WHEN ${patch.enabled === true} THEN NULL ELSE failing_since END,
        updated_at = now()
      WHERE id = ${id}::uuid
      RETURNING ${sql.unsafe(ENDPOINT_COLUMNS)}`;
    return row ? toEndpointRow(row) : undefined;
  }

  /** Its deliveries go with it (ON DELETE CASCADE); jobs still queued for them find nothing. */
  async deleteEndpoint(id: string): Promise<boolean> {
    const rows = await this.database.sql`DELETE FROM webhook_endpoints WHERE id = ${id}::uuid RETURNING id`;
    return rows.length > 0;
  }

  async rotateSecret(id: string, secretCiphertext: string, graceMs: number): Promise<EndpointRow | undefined> {
    const sql = this.database.sql;
    const [row] = await sql<EndpointSqlRow[]>`
      UPDATE webhook_endpoints SET
        previous_secret_ciphertext = secret_ciphertext,
        previous_secret_expires_at = now() + ${graceMs} * interval '1 millisecond',
        secret_ciphertext = ${secretCiphertext},
        updated_at = now()
      WHERE id = ${id}::uuid
      RETURNING ${sql.unsafe(ENDPOINT_COLUMNS)}`;
    return row ? toEndpointRow(row) : undefined;
  }

  /** Newest first; keyset on (created_at, id). */
  async listDeliveries(
    endpointId: string,
    before: { createdAt: Date; id: string } | undefined,
    limit: number,
  ): Promise<DeliveryRow[]> {
    const sql = this.database.sql;
    const rows = await sql<DeliverySqlRow[]>`
      SELECT d.id, d.endpoint_id, d.event_id, e.type AS event_type, d.origin, d.status, d.attempt_count,
             d.next_attempt_at, d.last_status_code, d.last_error, d.attempts, d.created_at, d.finished_at
        FROM webhook_deliveries d JOIN events e ON e.id = d.event_id
       WHERE d.endpoint_id = ${endpointId}::uuid
         ${before ? sql`AND (d.created_at, d.id) < (${before.createdAt}::timestamptz, ${before.id}::uuid)` : sql``}
       ORDER BY d.created_at DESC, d.id DESC
       LIMIT ${limit}`;
    return rows.map(toDeliveryRow);
  }

  async eventExists(eventId: string): Promise<boolean> {
    const rows = await this.database.sql`SELECT 1 FROM events WHERE id = ${eventId}::uuid`;
    return rows.length > 0;
  }

  /**
   * New deliveries of an event (same event id, so the same `webhook-id`) to the enabled endpoints
   * subscribed to its type, or to the one endpoint named (enabled or not, subscribed or not).
   */
  async redeliver(eventId: string, endpointId: string | undefined): Promise<DeliveryRow[]> {
    const sql = this.database.sql;
    const rows = await sql<DeliverySqlRow[]>`
      INSERT INTO webhook_deliveries (id, endpoint_id, event_id, origin, status, next_attempt_at, created_at)
      SELECT gen_random_uuid(), w.id, e.id, 'redeliver', 'pending', now(), now()
        FROM events e JOIN webhook_endpoints w
          ON ${endpointId === undefined ? sql`w.enabled AND e.type = ANY (w.event_types)` : sql`w.id = ${endpointId}::uuid`}
       WHERE e.id = ${eventId}::uuid
      RETURNING id, endpoint_id, event_id, (SELECT type FROM events WHERE id = event_id) AS event_type, origin, status,
                attempt_count, next_attempt_at, last_status_code, last_error, attempts, created_at, finished_at`;
    return rows.map(toDeliveryRow);
  }

  /** One dispatch step (webhook_dispatch): nothing when another dispatcher holds the cursor. */
  async dispatch(limit: number): Promise<DispatchResult> {
    const rows = await this.database.sql<
      { kind: 'event' | 'delivery'; event_type: EventType | null; event_created_at: Date | string | null; delivery_id: string | null; endpoint_id: string | null }[]
    >`SELECT d.kind, d.event_type, d.event_created_at, d.delivery_id, w.endpoint_id
        FROM webhook_dispatch(p_limit => ${limit}::integer) d
        LEFT JOIN LATERAL (SELECT x.endpoint_id FROM webhook_deliveries x WHERE x.id = d.delivery_id) w ON true`;
    const result: DispatchResult = { events: [], deliveries: [] };
    for (const row of rows) {
      if (row.kind === 'event') result.events.push({ type: row.event_type!, createdAt: toDate(row.event_created_at!) });
      else result.deliveries.push({ deliveryId: row.delivery_id!, endpointId: row.endpoint_id! });
    }
    return result;
  }

  /**
   * Takes the next attempt of a pending delivery whose time has come, for an enabled endpoint:
   * counts the attempt and pushes next_attempt_at a lease ahead, so the sweeper leaves it alone
   * while it runs. Undefined when there is nothing to attempt (done, not due, disabled, deleted).
   */
  async claimAttempt(deliveryId: string, leaseMs: number): Promise<ClaimedDelivery | undefined> {
    const [row] = await this.database.sql<
      {
        id: string;
        endpoint_id: string;
        attempt_count: number;
        url: string;
        secret_ciphertext: string;
        previous_secret_ciphertext: string | null;
        event_id: string;
        event_type: EventType;
        event_created_at: Date | string;
        event_data: unknown;
      }[]
    >`
      WITH claimed AS (
        UPDATE webhook_deliveries d
           SET attempt_count = d.attempt_count + 1, next_attempt_at = now() + ${leaseMs} * interval '1 millisecond'
          FROM webhook_endpoints w
         WHERE d.id = ${deliveryId}::uuid AND d.status = 'pending' AND d.next_attempt_at <= now() + interval '1 second'
           AND w.id = d.endpoint_id AND w.enabled
        RETURNING d.id, d.endpoint_id, d.event_id, d.attempt_count, w.url, w.secret_ciphertext,
                  CASE WHEN w.previous_secret_expires_at > now() THEN w.previous_secret_ciphertext END AS previous_secret_ciphertext)
      SELECT c.id, c.endpoint_id, c.attempt_count, c.url, c.secret_ciphertext, c.previous_secret_ciphertext,
             e.id AS event_id, e.type AS event_type, e.created_at AS event_created_at, e.data AS event_data
        FROM claimed c JOIN events e ON e.id = c.event_id`;
    if (!row) return undefined;
    return {
      deliveryId: row.id,
      endpointId: row.endpoint_id,
      attemptCount: row.attempt_count,
      url: row.url,
      secretCiphertext: row.secret_ciphertext,
      previousSecretCiphertext: row.previous_secret_ciphertext,
      event: { id: row.event_id, type: row.event_type, createdAt: toDate(row.event_created_at), data: row.event_data },
    };
  }

  async recordSuccess(deliveryId: string, endpointId: string, attempt: AttemptRecord): Promise<void> {
    await this.database.sql.begin(async (tx) => {
      await tx`
        UPDATE webhook_deliveries SET status = 'delivered', finished_at = now(), next_attempt_at = NULL,
               last_status_code = ${attempt.statusCode}, last_error = NULL,
               attempts = attempts || ${JSON.stringify([attempt])}::jsonb
         WHERE id = ${deliveryId}::uuid AND status = 'pending'`;
      await tx`UPDATE webhook_endpoints SET failing_since = NULL WHERE id = ${endpointId}::uuid AND failing_since IS NOT NULL`;
    });
  }

  /**
   * Records a failed attempt: the delivery waits `retryDelayMs` for its next one, or is `failed`
   * when `final`. The endpoint's failure streak starts now unless it is already running; an
   * endpoint failing for `disableAfterMs` is disabled with the reason. Says what happened.
   */
  async recordFailure(args: {
    deliveryId: string;
    endpointId: string;
    attempt: AttemptRecord;
    final: boolean;
    retryDelayMs: number;
    disableAfterMs: number;
  }): Promise<{ endpointDisabled: boolean }> {
    return this.database.sql.begin(async (tx) => {
      await tx`
        UPDATE webhook_deliveries SET
               status = CASE WHEN ${args.final} THEN 'failed' ELSE 'pending' END,
               finished_at = CASE WHEN ${args.final} THEN now() END,
               next_attempt_at = CASE WHEN ${args.final} THEN NULL ELSE now() + ${args.retryDelayMs} * interval '1 millisecond' END,
               last_status_code = ${args.attempt.statusCode}, last_error = ${args.attempt.error},
               attempts = attempts || ${JSON.stringify([args.attempt])}::jsonb
         WHERE id = ${args.deliveryId}::uuid AND status = 'pending'`;
      const [endpoint] = await tx<{ disabled: boolean }[]>`
        UPDATE webhook_endpoints w SET
               failing_since = coalesce(w.failing_since, now()),
               enabled = w.enabled AND NOT (coalesce(w.failing_since, now()) <= now() - ${args.disableAfterMs} * interval '1 millisecond'),
               disabled_reason = CASE
                 WHEN w.enabled AND coalesce(w.failing_since, now()) <= now() - ${args.disableAfterMs} * interval '1 millisecond'
                 THEN 'Disabled automatically: every delivery failed since ' || api_instant(coalesce(w.failing_since, now()))
                      || '; last error: ' || left(${args.attempt.error ?? 'unknown'}, 300)
                 ELSE w.disabled_reason END,
               updated_at = now()
         WHERE w.id = ${args.endpointId}::uuid
        RETURNING (w.enabled = false AND w.disabled_reason LIKE 'Disabled automatically%') AS disabled`;
      return { endpointDisabled: endpoint?.disabled ?? false };
    });
  }

  /**
   * Pending deliveries of enabled endpoints whose attempt is overdue by more than `graceMs`: their
   * job was lost (a Redis restart, a crash between dispatch and enqueue) or a worker died mid-attempt.
   */
  async overdueDeliveries(graceMs: number, limit: number): Promise<{ deliveryId: string; endpointId: string; attemptCount: number }[]> {
    const rows = await this.database.sql<{ id: string; endpoint_id: string; attempt_count: number }[]>`
      SELECT d.id, d.endpoint_id, d.attempt_count FROM webhook_deliveries d JOIN webhook_endpoints w ON w.id = d.endpoint_id
       WHERE d.status = 'pending' AND d.next_attempt_at < now() - ${graceMs} * interval '1 millisecond' AND w.enabled
       ORDER BY d.next_attempt_at LIMIT ${limit}`;
    return rows.map((row) => ({ deliveryId: row.id, endpointId: row.endpoint_id, attemptCount: row.attempt_count }));
  }

  /** Per endpoint, the age of the oldest event still waiting for delivery there. */
  async oldestUndeliveredAges(): Promise<{ endpointId: string; ageSeconds: number }[]> {
    const rows = await this.database.sql<{ endpoint_id: string; age_seconds: number }[]>`
      SELECT d.endpoint_id, extract(epoch FROM now() - min(e.created_at))::float8 AS age_seconds
        FROM webhook_deliveries d JOIN events e ON e.id = d.event_id
       WHERE d.status = 'pending'
       GROUP BY d.endpoint_id`;
    return rows.map((row) => ({ endpointId: row.endpoint_id, ageSeconds: row.age_seconds }));
  }
}

function toEndpointRow(row: EndpointSqlRow): EndpointRow {
  return {
    id: row.id,
    url: row.url,
    description: row.description,
    eventTypes: row.event_types,
    enabled: row.enabled,
    disabledReason: row.disabled_reason,
    failingSince: row.failing_since === null ? null : toDate(row.failing_since),
    previousSecretExpiresAt: row.previous_secret_expires_at === null ? null : toDate(row.previous_secret_expires_at),
    createdAt: toDate(row.created_at),
    updatedAt: toDate(row.updated_at),
  };
}

function toDeliveryRow(row: DeliverySqlRow): DeliveryRow {
  return {
    id: row.id,
    endpointId: row.endpoint_id,
    eventId: row.event_id,
    eventType: row.event_type,
    origin: row.origin,
    status: row.status,
    attemptCount: row.attempt_count,
    nextAttemptAt: row.next_attempt_at === null ? null : toDate(row.next_attempt_at),
    lastStatusCode: row.last_status_code,
    lastError: row.last_error,
    attempts: row.attempts,
    createdAt: toDate(row.created_at),
    finishedAt: row.finished_at === null ? null : toDate(row.finished_at),
  };
}
