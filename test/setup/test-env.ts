import { randomBytes } from 'node:crypto';

/**
 * Where tests find PostgreSQL and Redis. Tests never touch the development database: each run
 * migrates its own template, and each test file clones a database of its own from it.
 */
export const TEST_POSTGRES_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
/**
 * Database 15, not the default 0 that a development service (and most other software) uses;
 * every key a test writes also carries a prefix of its own (`randomPrefix()`, `test:<hex>:`).
 */
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/15';

/**
 * The comment every database this suite creates carries (`COMMENT ON DATABASE`). The stale
 * cleanup drops only databases with this comment, this suite's name prefix and an old stamp, so
 * it never touches another project's databases, even one whose names look like ours.
 */
export const TEST_DATABASE_COMMENT = 'wallet-royalty-service test suite: safe to drop when stale';

export function databaseUrl(name: string): string {
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Set by the global setup for this run; read by every test file. */
export const TEMPLATE_ENV = 'WALLET_TEST_TEMPLATE_DB';

/**
 * Test database names carry their creation time (`wallet_test_<kind>_<epoch seconds>_<random>`),
 * so that a later run can drop what an interrupted run left behind without touching the
 * databases of a run still going on.
 */
export function testDatabaseName(kind: string): string {
  return `wallet_test_${kind}_${Math.floor(Date.now() / 1000)}_${randomBytes(4).toString('hex')}`;
}

const STAMPED_NAME = /^wallet_test_[a-z]+_(\d{10})_[0-9a-f]+$/;
/** Older than any run could be: the suite takes minutes. */
export const STALE_TEST_DATABASE_AGE_SECONDS = 6 * 3600;

export function isStaleTestDatabase(name: string, nowSeconds = Date.now() / 1000): boolean {
  const match = STAMPED_NAME.exec(name);
  return match !== null && nowSeconds - Number(match[1]) > STALE_TEST_DATABASE_AGE_SECONDS;
}
