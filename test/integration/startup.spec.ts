import { Logger } from '@nestjs/common';
import { readFileSync } from 'node:fs';
import * as path from 'node:path';
import postgres from 'postgres';
import { MIGRATIONS_FOLDER, prepareDatabase } from '../../src/db/migrate';
import { PLATFORM_USER_ID, startTestApp, TestApp } from '../setup/test-app';
import { createTestDatabase, TestDatabase } from '../setup/test-database';
import { databaseUrl, TEST_POSTGRES_URL, testDatabaseName } from '../setup/test-env';

/** A logger that keeps its lines, so a test can count what happened (e.g. databases created). */
class RecordingLogger extends Logger {
  readonly lines: string[] = [];

  constructor() {
    super('Migrations');
  }

  override log(message: unknown): void {
    this.lines.push(String(message));
  }
}

const JOURNAL_TAGS: string[] = (
  JSON.parse(readFileSync(path.join(MIGRATIONS_FOLDER, 'meta', '_journal.json'), 'utf8')) as {
    entries: { tag: string }[];
  }
).entries.map((entry) => entry.tag);

describe('startup', () => {
  const admin = postgres(TEST_POSTGRES_URL, { max: 1, onnotice: () => undefined });
  const created: string[] = [];

  function freshDatabaseName(): string {
    const name = testDatabaseName('boot');
    created.push(name);
    return name;
  }

  async function databaseExists(name: string): Promise<boolean> {
    const rows = await admin`SELECT 1 FROM pg_database WHERE datname = ${name}`;
    return rows.length === 1;
  }

  /** What a migrated database must hold: the tables, the money functions, one row per migration. */
  async function expectMigrated(name: string): Promise<void> {
    const sql = postgres(databaseUrl(name), { max: 1, onnotice: () => undefined });
    try {
      const tables = await sql<{ name: string }[]>`
        SELECT table_name AS name FROM information_schema.tables WHERE table_schema = 'public'`;
      expect(tables.map((t) => t.name)).toEqual(
        expect.arrayContaining(['wallets', 'ledger_entries', 'ledger_transactions', 'purchases', 'users']),
      );
      const functions = await sql<{ name: string }[]>`
        SELECT p.proname AS name FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
        WHERE n.nspname = 'public' AND p.proname = 'purchase_execute_batch'`;
      expect(functions).toHaveLength(1);
      const applied = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations`;
      expect(applied[0]!.n).toBe(JOURNAL_TAGS.length);
    } finally {
      await sql.end({ timeout: 5 });
    }
  }

  afterAll(async () => {
    for (const name of created) await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end({ timeout: 5 });
  });

  it('prepareDatabase creates a missing database and migrates it', async () => {
    const name = freshDatabaseName();
    expect(await databaseExists(name)).toBe(false);
    const logger = new RecordingLogger();
    await prepareDatabase(databaseUrl(name), logger);
    expect(await databaseExists(name)).toBe(true);
    await expectMigrated(name);
    expect(logger.lines).toEqual([`created database ${name}`, 'database migrated']);
  });

  it('prepareDatabase on an up-to-date database changes nothing', async () => {
    const name = freshDatabaseName();
    await prepareDatabase(databaseUrl(name), new RecordingLogger());
    const again = new RecordingLogger();
    await prepareDatabase(databaseUrl(name), again);
    expect(again.lines).toEqual(['database migrated']);
    await expectMigrated(name);
  });

  it('three concurrent prepareDatabase calls on a fresh name create and migrate it once, without error', async () => {
    const name = freshDatabaseName();
    const loggers = [new RecordingLogger(), new RecordingLogger(), new RecordingLogger()];
    const results = await Promise.allSettled(loggers.map((logger) => prepareDatabase(databaseUrl(name), logger)));
    expect(results.map((r) => (r.status === 'rejected' ? String(r.reason) : r.status))).toEqual([
      'fulfilled',
      'fulfilled',
      'fulfilled',
    ]);
    const creations = loggers.flatMap((logger) => logger.lines).filter((line) => line.startsWith('created database'));
    expect(creations).toHaveLength(1);
    // One row per migration: under the advisory lock the later callers found nothing to apply.
    await expectMigrated(name);
  });

  it('refuses a database name that would need quoting', async () => {
    const url = databaseUrl('bad"name');
    await expect(prepareDatabase(url, new RecordingLogger())).rejects.toThrow(/DATABASE_URL/);
  });

  describe('platform wallet', () => {
    let db: TestDatabase;
    const apps: TestApp[] = [];

    beforeAll(async () => {
      db = await createTestDatabase();
    });
    afterAll(async () => {
      for (const app of apps) await app.close();
      await db.drop();
    });

    it('two instances starting at once on one database seed exactly one platform wallet', async () => {
      const before = await db.sql`SELECT count(*)::int AS n FROM wallets WHERE user_id = ${PLATFORM_USER_ID}`;
      expect(before[0]!.n).toBe(0);
      apps.push(...(await Promise.all([startTestApp({ database: db }), startTestApp({ database: db })])));
      const after = await db.sql`SELECT count(*)::int AS n FROM wallets WHERE user_id = ${PLATFORM_USER_ID}`;
      expect(after[0]!.n).toBe(1);
      // A third start (a restart) finds it and adds nothing.
      apps.push(await startTestApp({ database: db }));
      const restarted = await db.sql`SELECT count(*)::int AS n FROM wallets WHERE user_id = ${PLATFORM_USER_ID}`;
      expect(restarted[0]!.n).toBe(1);
    });
  });
});
