import { Logger } from '@nestjs/common';
import { drizzle, PostgresJsDatabase } from 'drizzle-orm/postgres-js';
import postgres, { Sql } from 'postgres';
import * as schema from './schema';
import { withConnectionWaitBound } from './connection-wait';
import { isRetryableTransactionError } from './postgres-errors';
import { PoolUsage } from './pool-usage';

export type Db = PostgresJsDatabase<typeof schema>;
/** The handle a repository write takes: a transaction opened by the use case. */
export type Tx = Parameters<Parameters<Db['transaction']>[0]>[0];

export interface DatabaseOptions {
  url: string;
  poolMax: number;
  applicationName?: string;
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

export function createSqlClient(options: DatabaseOptions): Sql {
  const sql = postgres(options.url, {
    max: options.poolMax,
    prepare: true,
    idle_timeout: 60,
    connect_timeout: CONNECT_TIMEOUT_SECONDS,
    backoff: reconnectDelaySeconds,
    onnotice: () => undefined,
    connection: {
      application_name: options.applicationName ?? 'wallet-service',
      statement_timeout: STATEMENT_TIMEOUT_MS,
      idle_in_transaction_session_timeout: IDLE_IN_TRANSACTION_TIMEOUT_MS,
      TimeZone: 'UTC',
    },
  });
  return withConnectionWaitBound(sql, CONNECTION_WAIT_MS);
}

/**
 * The service's one PostgreSQL pool, with the drizzle handle on top of it. Repositories get
 * this; services open transactions through `transaction()` and pass the handle down.
 */
export class Database {
  private readonly logger = new Logger(Database.name);
  readonly db: Db;

  /** `usage` reads the pool's figures (see `trackPoolUsage`); without it, none are known. */
  constructor(
    readonly sql: Sql,
    private readonly usage?: () => PoolUsage,
  ) {
    this.db = drizzle(sql, { schema });
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
    await this.sql.end({ timeout: timeoutSeconds });
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
