import { randomBytes } from 'node:crypto';
import postgres, { Sql } from 'postgres';
import { databaseUrl, TEMPLATE_ENV, TEST_POSTGRES_URL, testDatabaseName } from './test-env';

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

export function randomPrefix(): string {
  return `test:${randomBytes(6).toString('hex')}:`;
}
