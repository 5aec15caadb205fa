import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import Redis from 'ioredis';
import { Logger } from '@nestjs/common';
import { createHttpApp } from '../../src/app.factory';
import { AppConfig, loadConfig } from '../../src/config/app-config';
import { setSessionDefaults } from '../../src/db/migrate';
import { ApiClient } from './api-client';
import { createTestDatabase, randomPrefix, TestDatabase } from './test-database';
import { TEST_REDIS_URL } from './test-env';
import { deleteKeys } from './redis-keys';

export const PLATFORM_USER_ID = '00000000-0000-4000-8000-00000000beef';
export const ADMIN_USER_ID = '00000000-0000-4000-8000-00000000ad01';

export interface TestApp {
  app: NestFastifyApplication;
  config: AppConfig;
  baseUrl: string;
  api: ApiClient;
  db: TestDatabase;
  /** A Redis connection without the app's prefix; use `keyPrefix` to reach the app's keys. */
  redis: Redis;
  keyPrefix: string;
  close(): Promise<void>;
}

export interface TestAppOptions {
  env?: Record<string, string>;
  /** Reuse another test app's database (a second instance on the same books). */
  database?: TestDatabase;
  keyPrefix?: string;
  /** Runs on the built application before it listens (global interceptors, for instance). */
  configure?: (app: NestFastifyApplication) => void;
}

/**
 * A real instance of the service on a random loopback port, with its own database and Redis
 * key prefix. Only configuration differs from production.
 */
export async function startTestApp(options: TestAppOptions = {}): Promise<TestApp> {
  const db = options.database ?? (await createTestDatabase());
  const keyPrefix = options.keyPrefix ?? randomPrefix();
  const config = loadConfig({
    DATABASE_URL: db.url,
    ...(await transactionPoolerEnv(db)),
    DATABASE_POOL_MAX: '10',
    REDIS_URL: TEST_REDIS_URL,
    REDIS_KEY_PREFIX: keyPrefix,
    PLATFORM_ACCOUNT_ID: PLATFORM_USER_ID,
    ADMIN_USER_IDS: ADMIN_USER_ID,
    LOG_LEVEL: 'silent',
    NODE_ENV: 'test',
    ...options.env,
  });
  const app = await createHttpApp(config);
  options.configure?.(app);
  await app.listen(0, '127.0.0.1');
  const address = app.getHttpServer().address();
  const port = typeof address === 'object' && address ? address.port : 0;
  const baseUrl = `http://127.0.0.1:${port}`;
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  const ownsDatabase = options.database === undefined;
  return {
    app,
    config,
    baseUrl,
    api: new ApiClient(baseUrl),
    db,
    redis,
    keyPrefix,
    async close() {
      await app.close();
      await deleteKeys(redis, keyPrefix);
      redis.disconnect();
      if (ownsDatabase) await db.drop();
    },
  };
}

/**
 * TEST_PGBOUNCER_PORT (set by the topology suite, ADR 0051): the app's pool goes through PgBouncer
 * in transaction mode on that port, in front of the same server; migrations and advisory locks
 * keep the direct URL, and the session timeouts become the role's defaults in the database, as
 * the service's start does. Assertions through `db.sql` stay direct.
 */
async function transactionPoolerEnv(db: TestDatabase): Promise<Record<string, string>> {
  const port = process.env.TEST_PGBOUNCER_PORT;
  if (!port) return {};
  await setSessionDefaults(db.url, Object.assign(new Logger('TestApp'), { log: () => undefined }));
  return {
    DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/${db.name}`,
    DATABASE_POOL_MODE: 'transaction',
    DATABASE_DIRECT_URL: db.url,
  };
}

