import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import postgres from 'postgres';
import { migrateDatabase } from '../../src/db/migrate';
import { databaseUrl, TEMPLATE_ENV, TEST_POSTGRES_URL } from './test-env';

/** Migrates one template database for the whole run; test files clone it. */
export default async function globalSetup(): Promise<void> {
  const name = `wallet_test_tpl_${randomBytes(4).toString('hex')}`;
  const sql = postgres(TEST_POSTGRES_URL, { max: 1, onnotice: () => undefined });
  try {
    await sql.unsafe(`CREATE DATABASE "${name}"`);
  } finally {
    await sql.end();
  }
  await migrateDatabase(databaseUrl(name), new Logger('TestSetup'));
  process.env[TEMPLATE_ENV] = name;
}
