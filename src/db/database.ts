import { Logger } from '@nestjs/common';
import { drizzle, PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres, { Sql } from 'postgres';
import * as schema from './schema';
import { withConnectionWaitBound } from './connection-wait';
import { isRetryableTransactionError } from './postgres-errors';
import { PoolUsage } from './pool-usage';
import { assertWritable, driverOptions, parseDatabaseUrl, SessionRole } from './database-url';
import { ReplicaLag } from './read-replica';

export type Db = PostgresJsDatabase<typeof schema>;
/** The handle a repository write takes: a transaction opened by the use case. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

/**
 * `session`: each pooled connection is a PostgreSQL session of its own (direct, or PgBouncer in
 * session mode). `transaction`: PgBouncer in transaction mode, where consecutive transactions of
 * one connection may run on different server sessions (ADR 0051).
 */
export type PoolMode = 'session' | 'transaction';

export interface DatabaseOptions {
  url: string;
  poolMax: number;
  applicationName?: string;
  /** Default `session`. */
  poolMode?: PoolMode;
  /** Default `primary`: the pool only keeps connections to a server out of recovery (ADR 0050). */
  sessionRole?: SessionRole;
}

/** A statement or an idle transaction past these is cut off rather than holding locks. */
const STATEMENT_TIMEOUT_MS = 15_000;
const IDLE_IN_TRANSACTION_TIMEOUT_MS = 30_000;
/**
 * Seconds for a new connection to be ready (TCP, startup, authentication); a healthy server
 * takes milliseconds. Shorter than CONNECTION_WAIT_MS so that one slow but successful attempt
 * still serves the query that waits for it.
 */
const CONNECT_TIMEOUT_SECONDS = 2;
/**
 * No query, transaction or reserved connection waits longer than this for a pool connection; it
 * fails with a 503 instead (ADR 0038). Work that has a connection is bounded by the statement
 * timeout, not by this.
 */
const CONNECTION_WAIT_MS = 3_000;
/**
 * Seconds before a failed connection is tried again, by attempts failed in a row. postgres.js's
 * default grows as 3^n / 100 s up to 20 s, so after a few refused attempts a request waited up
 * to 20 s for the next attempt before it could even fail (measured 18 s); this stays between
 * 50 and 250 ms, a few refused connects per second per pool slot while the server is down.
 */
const reconnectDelaySeconds = (failedInARow: number): number => Math.min(0.05 * failedInARow, 0.25);
const TRANSACTION_ATTEMPTS_MAX = 5;

/**
 * The timeouts every session of the service runs with. On a direct connection they are startup
 * parameters; PgBouncer in transaction mode refuses those (08P01 unsupported startup parameter),
 * so there they are the role's defaults in the database (`sessionDefaultsSql`).
 */
export const SESSION_TIMEOUTS = {
  statement_timeout: STATEMENT_TIMEOUT_MS,
  idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_TIMEOUT_MS,
} as const;

export function createSqlClient(options: DatabaseOptions): Sql {
  const target = parseDatabaseUrl(options.url);
  const role = options.sessionRole ?? 'primary';
  if (role === 'primary') assertWritable(target);
  const base = driverOptions(target, role);
  const transactionPooled = options.poolMode === 'transaction';
  const sql = postgres({
    ...base,
    max: options.poolMax,
    // A named prepared statement lives in one server session; behind a transaction pooler the
    // next execution may land on another one (26000 prepared statement does not exist).
    prepare: !transactionPooled,
    idle_timeout: 60,
    connect_timeout: CONNECT_TIMEOUT_SECONDS,
    backoff: reconnectDelaySeconds,
    onnotice: () => undefined,
    connection: {
      application_name: options.applicationName ?? 'wallet-service',
      ...(transactionPooled ? {} : SESSION_TIMEOUTS),
      TimeZone: 'UTC',
      ...base.connection,
    },
  });
  return withConnectionWaitBound(sql, CONNECTION_WAIT_MS);
}

/**
 * A small pool of real sessions (DATABASE_DIRECT_URL, never through a transaction pooler) for
 * what must stay on one server session: session advisory locks. Always the primary.
 */
export function createSessionSqlClient(url: string, applicationName: string): Sql {
  return createSqlClient({ url, poolMax: 2, applicationName, poolMode: 'session' });
}

/**
 * The service's one PostgreSQL pool, with the drizzle handle on top of it. Repositories get
 * this; services open transactions through `transaction()` and pass the handle down.
 */
export class Database {
  private readonly logger = new Logger(Database.name);
  readonly db: Db;

  /** Real server sessions for session advisory locks; the main pool unless it is transaction-pooled. */
  readonly sessionSql: Sql;
  private readonly replica: { sql: Sql; db: Db; lag: ReplicaLag } | undefined;

  /**
   * `usage` reads the pool's figures (see `trackPoolUsage`); without it, none are known.
   * `sessionSql`: see above; defaults to `sql`, which is right unless `sql` goes through
   * PgBouncer in transaction mode.
   */
  constructor(
    readonly sql: Sql,
    private readonly usage?: () => PoolUsage,
    sessionSql?: Sql,
    /** DATABASE_READ_URL's pool and READ_REPLICA_MAX_LAG_MS (ADR 0053); undefined: every read on `sql`. */
    replica?: { sql: Sql; maxLagMs: number },
  ) {
    this.db = drizzle(sql, { schema });
    this.sessionSql = sessionSql ?? sql;
    if (replica) {
      this.replica = { sql: replica.sql, db: drizzle(replica.sql, { schema }), lag: new ReplicaLag(sql, replica.sql, replica.maxLagMs) };
      this.replica.lag.start();
    }
  }

  /**
   * Where a read that may be slightly stale goes (reports, ledger pages, purchase search, the
   * event feed; ADR 0053): the replica while its data is known to be at most
   * READ_REPLICA_MAX_LAG_MS behind, the primary otherwise. Writes, and reads that must see the
   * caller's own writes (balances, replays, anything in a money transaction), use `sql`/`db`.
   */
  reader(): { sql: Sql; db: Db; replica: boolean } {
    if (this.replica?.lag.usable()) return { sql: this.replica.sql, db: this.replica.db, replica: true };
    return { sql: this.sql, db: this.db, replica: false };
  }

  /** The replica's current lag bound in ms; undefined without a replica or while unknown. */
  replicaLagMs(): number | undefined {
    return this.replica?.lag.currentLagMs();
  }

  poolUsage(): PoolUsage | undefined {
    return this.usage?.();
  }

  /**
   * Runs `work` in a transaction, retrying a bounded number of times when PostgreSQL aborts it
   * for a serialization failure or a deadlock; those say nothing about the request itself.
   */
  async transaction<T>(work: (tx: Tx) => Promise<T>): Promise<T> {
    return retryTransient(() => this.db.transaction(work), this.logger);
  }

  async close(timeoutSeconds = 5): Promise<void> {
    this.replica?.lag.stop();
    await Promise.all([
      this.sql.end({ timeout: timeoutSeconds }),
      this.sessionSql === this.sql ? undefined : this.sessionSql.end({ timeout: timeoutSeconds }),
      this.replica?.sql.end({ timeout: timeoutSeconds }),
    ]);
  }
}

/** Retries an idempotent database operation on serialization failures and deadlocks. */
export async function retryTransient<T>(operation: () => Promise<T>, logger?: Logger): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation();
    } catch (error) {
      if (!isRetryableTransactionError(error) || attempt >= TRANSACTION_ATTEMPTS_MAX) throw error;
      logger?.warn({ attempt, code: (error as { code?: string }).code }, 'retrying transaction');
      // Jittered backoff so that two transactions that collided do not collide again.
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 5 * attempt));
    }
  }
}
