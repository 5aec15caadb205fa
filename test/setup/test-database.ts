import { randomBytes } from 'node:crypto';
import postgres, { Sql } from 'postgres';
import {
  databaseUrl,
  isStaleTestDatabase,
  TEMPLATE_ENV,
  TEST_DATABASE_COMMENT,
  TEST_POSTGRES_URL,
  testDatabaseName,
} from './test-env';

export interface TestDatabase {
  name: string;
  url: string;
  /** A direct connection for assertions and for injecting faults through SQL. */
  sql: Sql;
  drop(): Promise<void>;
}

/** A fresh, migrated database of this test file's own, cloned from the run's template. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const template = process.env[TEMPLATE_ENV];
  if (!template) throw new Error('the jest global setup did not run (no template database)');
  const name = testDatabaseName('file');
  const admin = postgres(TEST_POSTGRES_URL, { max: 1, onnotice: () => undefined });
  try {
    await admin.unsafe(`CREATE DATABASE "${name}" TEMPLATE "${template}"`);
    // A clone does not inherit the template's comment, and the stale cleanup looks for it.
    await admin.unsafe(`COMMENT ON DATABASE "${name}" IS '${TEST_DATABASE_COMMENT}'`);
  } finally {
    await admin.end();
  }
  const url = databaseUrl(name);
  const sql = postgres(url, { max: 4, onnotice: () => undefined });
  return {
    name,
    url,
    sql,
    async drop() {
      await sql.end({ timeout: 5 });
      const dropper = postgres(TEST_POSTGRES_URL, { max: 1, onnotice: () => undefined });
      try {
        await dropper.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      } finally {
        await dropper.end();
      }
    },
  };
}

/**
 * Drops what interrupted runs of this suite left behind (a run that finishes drops its own
 * databases): only databases named like ours, stamped more than six hours ago, and carrying our
 * comment. Another run still going on, and any other project's database, are never touched.
 * Returns the names dropped.
 */
export async function dropStaleTestDatabases(sql: Sql, nowSeconds = Date.now() / 1000): Promise<string[]> {
  const candidates = await sql<{ datname: string }[]>`
    SELECT d.datname
      FROM pg_database d
      JOIN pg_shdescription c ON c.objoid = d.oid AND c.classoid = 'pg_database'::regclass
     WHERE d.datname LIKE 'wallet\_test\_%' AND c.description = ${TEST_DATABASE_COMMENT}`;
  const stale = candidates.map(({ datname }) => datname).filter((name) => isStaleTestDatabase(name, nowSeconds));
  for (const name of stale) await sql.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  return stale;
}

export function randomPrefix(): string {
  return `test:${randomBytes(6).toString('hex')}:`;
}
