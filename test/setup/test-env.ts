/**
 * Where tests find PostgreSQL and Redis. Tests never touch the development database: each run
 * migrates its own template, and each test file clones a database of its own from it.
 */
export const TEST_POSTGRES_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379';

export function databaseUrl(name: string): string {
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/** Set by the global setup for this run; read by every test file. */
export const TEMPLATE_ENV = 'WALLET_TEST_TEMPLATE_DB';
