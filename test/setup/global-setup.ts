import { Logger } from '@nestjs/common';
import postgres from 'postgres';
import { migrateDatabase } from '../../src/db/migrate';
import { databaseUrl, TEMPLATE_ENV, TEST_DATABASE_COMMENT, TEST_POSTGRES_URL, testDatabaseName } from './test-env';
import { dropStaleTestDatabases } from './test-database';

/** Migrates one template database for the whole run; test files clone it. */
export default async function globalSetup(): Promise<void> {
  const name = testDatabaseName('tpl');
  const sql = postgres(TEST_POSTGRES_URL, { max: 1, onnotice: () => undefined });
  try {
    await dropStaleTestDatabases(sql);
    await sql.unsafe(`CREATE DATABASE "${name}"`);
    await sql.unsafe(`COMMENT ON DATABASE "${name}" IS '${TEST_DATABASE_COMMENT}'`);
  } finally {
    await sql.end();
  }
  // Migrations log nothing here: the test runner's output is for the tests.
  await migrateDatabase(databaseUrl(name), silentLogger());
  process.env[TEMPLATE_ENV] = name;
}

function silentLogger(): Logger {
  const logger = new Logger('TestSetup');
  logger.log = () => undefined;
  return logger;
}
