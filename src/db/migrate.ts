import { Logger } from '@nestjs/common';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import * as path from 'node:path';
import postgres, { Sql } from 'postgres';
import { assertWritable, DatabaseTarget, DatabaseUrlError, driverOptions, parseDatabaseUrl, withDatabase } from './database-url';
import { SESSION_TIMEOUTS } from './database';
import { PgCode, pgErrorCode } from './postgres-errors';

/** Arbitrary, fixed: every instance that migrates takes this one advisory lock. */
const MIGRATION_LOCK_KEY = 727_001;
/** Taken in the maintenance database around check-then-create, for the same reason. */
const CREATE_DATABASE_LOCK_KEY = 727_002;
export const MIGRATIONS_FOLDER = path.resolve(__dirname, '..', '..', 'drizzle');

/**
 * One session on the primary, for the advisory locks below: `url` is DATABASE_DIRECT_URL (or
 * DATABASE_URL when that is direct), never a transaction pooler, where a session lock would stay
 * behind on a server connection that other clients then get (ADR 0051).
 */
function sessionClient(target: DatabaseTarget): Sql {
  return postgres({ ...driverOptions(target, 'primary'), max: 1, onnotice: () => undefined, connect_timeout: 10 });
}

function writableTarget(url: string): DatabaseTarget {
  try {
    const target = parseDatabaseUrl(url);
    assertWritable(target);
    return target;
  } catch (error) {
    if (error instanceof DatabaseUrlError) throw new Error(`DATABASE_URL: ${error.message}`);
    throw error;
  }
}

/** Creates the database named in `url` if it does not exist (racing instances are fine). */
export async function ensureDatabaseExists(url: string, logger: Logger): Promise<void> {
  const target = writableTarget(url);
  const databaseName = target.database;
  const sql = sessionClient(withDatabase(target, 'postgres'));
  try {
    // Two concurrent CREATE DATABASE of one name can both pass the duplicate check and the
    // loser then fails on pg_database's unique index (23505, not 42P04); the lock rules that out.
    await sql`SELECT pg_advisory_lock(${CREATE_DATABASE_LOCK_KEY})`;
    try {
      const [row] = await sql`SELECT 1 AS present FROM pg_database WHERE datname = ${databaseName}`;
      if (row) return;
      try {
        await sql.unsafe(`CREATE DATABASE "${databaseName}"`);
        logger.log(`created database ${databaseName}`);
      } catch (error) {
        const code = pgErrorCode(error);
        if (code !== PgCode.duplicateDatabase && code !== PgCode.uniqueViolation) throw error;
      }
    } finally {
      await sql`SELECT pg_advisory_unlock(${CREATE_DATABASE_LOCK_KEY})`;
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/**
 * Applies pending migrations while holding a session advisory lock, so that several
 * instances starting at once apply each migration exactly once.
 */
export async function migrateDatabase(url: string, logger: Logger): Promise<void> {
  const target = writableTarget(url);
  const sql = sessionClient(target);
  try {
    await sql`SELECT pg_advisory_lock(${MIGRATION_LOCK_KEY})`;
    try {
      await migrate(drizzle(sql), { migrationsFolder: MIGRATIONS_FOLDER });
      logger.log('database migrated');
    } finally {
      await sql`SELECT pg_advisory_unlock(${MIGRATION_LOCK_KEY})`;
    }
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/**
 * Behind PgBouncer in transaction mode the pool cannot send the service's timeouts as startup
 * parameters, so they become the defaults of this role in this database: every new server
 * session gets them, pooled or not. Sessions the pooler opened before keep theirs until they end
 * (PgBouncer's server_lifetime); `checkSessionTimeouts` says so at start.
 */
export async function setSessionDefaults(url: string, logger: Logger): Promise<void> {
  const target = writableTarget(url);
  const sql = sessionClient(target);
  try {
    for (const [name, valueMs] of Object.entries(SESSION_TIMEOUTS)) {
      await sql.unsafe(`ALTER ROLE CURRENT_USER IN DATABASE "${target.database}" SET ${name} = ${Number(valueMs)}`);
    }
    logger.log(`session timeouts set as this role's defaults in ${target.database} (transaction pooling)`);
  } finally {
    await sql.end({ timeout: 5 });
  }
}

/** Options of `prepareDatabase` beyond the direct URL. */
export interface PrepareOptions {
  /** `transaction`: DATABASE_URL goes through PgBouncer in transaction mode (ADR 0051). */
  poolMode?: 'session' | 'transaction';
}

/** `url`: a direct session to the primary (DATABASE_DIRECT_URL, else DATABASE_URL). */
export async function prepareDatabase(url: string, logger = new Logger('Migrations'), options: PrepareOptions = {}): Promise<void> {
  await ensureDatabaseExists(url, logger);
  await migrateDatabase(url, logger);
  if (options.poolMode === 'transaction') await setSessionDefaults(url, logger);
}
