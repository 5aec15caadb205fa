import { Logger } from '@nestjs/common';
import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import * as path from 'node:path';
import postgres from 'postgres';
import { PgCode, pgErrorCode } from './postgres-errors';

/** Arbitrary, fixed: every instance that migrates takes this one advisory lock. */
const MIGRATION_LOCK_KEY = 727_001;
/** Taken in the maintenance database around check-then-create, for the same reason. */
const CREATE_DATABASE_LOCK_KEY = 727_002;
export const MIGRATIONS_FOLDER = path.resolve(__dirname, '..', '..', 'drizzle');

/** Creates the database named in `url` if it does not exist (racing instances are fine). */
export async function ensureDatabaseExists(url: string, logger: Logger): Promise<void> {
  const target = new URL(url);
  const databaseName = decodeURIComponent(target.pathname.replace(/^\//, ''));
  if (!/^[A-Za-z0-9_-]{1,63}$/.test(databaseName)) {
    throw new Error(`DATABASE_URL: database name "${databaseName}" must be 1 to 63 characters of [A-Za-z0-9_-]`);
  }
  const maintenance = new URL(url);
  maintenance.pathname = '/postgres';
  const sql = postgres(maintenance.toString(), { max: 1, onnotice: () => undefined, connect_timeout: 10 });
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
  const sql = postgres(url, { max: 1, onnotice: () => undefined, connect_timeout: 10 });
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

export async function prepareDatabase(url: string, logger = new Logger('Migrations')): Promise<void> {
  await ensureDatabaseExists(url, logger);
  await migrateDatabase(url, logger);
}
