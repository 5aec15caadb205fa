import { Logger } from '@nestjs/common';
import postgres from 'postgres';
import { migrateDatabase } from '../../src/db/migrate';
import { databaseUrl, isStaleTestDatabase, TEMPLATE_ENV, TEST_POSTGRES_URL, testDatabaseName } from './test-env';

/** Migrates one template database for the whole run; test files clone it. */
export default async function globalSetup(): Promise<void> {
  const name = testDatabaseName('tpl');
  const sql = postgres(TEST_POSTGRES_URL, { max: 1, onnotice: () => undefined });
  try {
    // What interrupted runs left behind (a run that finishes drops its own databases).
    const existing = await sql<{ datname: string }[]>`SELECT datname FROM pg_database WHERE datname LIKE 'wallet\_test\_%'`;
    for (const { datname } of existing.filter(({ datname }) => isStaleTestDatabase(datname))) {
      await sql.unsafe(`DROP DATABASE IF EXISTS "${datname}" WITH (FORCE)`);
    }
    await sql.unsafe(`CREATE DATABASE "${name}"`);
  } finally {
    await sql.end();
  }
  await migrateDatabase(databaseUrl(name), new Logger('TestSetup'));
  process.env[TEMPLATE_ENV] = name;
}
