import { drizzle } from 'drizzle-orm/postgres-js';
import { migrate } from 'drizzle-orm/postgres-js/migrator';
import { randomUUID } from 'node:crypto';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import postgres, { Sql } from 'postgres';
import { createSqlClient, Database } from '../../src/db/database';
import { MIGRATIONS_FOLDER } from '../../src/db/migrate';
import { WalletsRepository } from '../../src/wallets/wallets.repository';
import '../setup/seeded';
import { createTestDatabase, TestDatabase } from '../setup/test-database';
import { databaseUrl, TEST_DATABASE_COMMENT, TEST_POSTGRES_URL, testDatabaseName } from '../setup/test-env';

/** The migration that partitioned ledger_entries (ADR 0027). */
const PARTITIONING_MIGRATION = '0023_ledger_partitions_and_sweep_state';

function monthStart(offsetMonths: number): Date {
  const now = new Date();
  return new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offsetMonths, 1));
}

async function partitions(sql: Sql): Promise<string[]> {
  const rows = await sql<{ name: string }[]>`
    SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
     WHERE i.inhparent = 'ledger_entries'::regclass ORDER BY c.relname`;
  return rows.map((row) => row.name);
}

/** One transaction with `count` wallet postings (and their funding leg) at `at`, for `walletId`. */
async function post(sql: Sql, walletId: string, at: Date, count: number): Promise<void> {
  for (let i = 0; i < count; i++) {
    const id = randomUUID();
    const when = new Date(at.getTime() + i * 1_000).toISOString();
    await sql`INSERT INTO ledger_transactions (id, type, created_at) VALUES (${id}, 'deposit', ${when})`;
    await sql`
      INSERT INTO ledger_entries (transaction_id, wallet_id, system_account, amount, created_at)
      VALUES (${id}, NULL, 'funding', -100, ${when}), (${id}, ${walletId}, NULL, 100, ${when})`;
  }
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Actual Loops'?: number;
  'Subplans Removed'?: number;
  Plans?: PlanNode[];
}

/** The ledger_entries partitions a plan actually read (scans that ran at least once). */
function partitionsRead(node: PlanNode, into = new Set<string>()): Set<string> {
  if (node['Relation Name']?.startsWith('ledger_entries_') && (node['Actual Loops'] ?? 0) > 0) into.add(node['Relation Name']);
  for (const child of node.Plans ?? []) partitionsRead(child, into);
  return into;
}

describe('ledger_entries partitioned by month', () => {
  let db: TestDatabase;
  let database: Database;
  let wallets: WalletsRepository;

  beforeAll(async () => {
    db = await createTestDatabase();
    database = new Database(createSqlClient({ url: db.url, poolMax: 2 }));
    wallets = new WalletsRepository(database);
  });

  afterAll(async () => {
    await database.close();
    await db.drop();
  });

  it('has this month and the next three created ahead, and creating them again adds nothing', async () => {
    const names = await partitions(db.sql);
    for (let month = 1; month <= 3; month++) {
      const start = monthStart(month);
      const name = `ledger_entries_y${start.getUTCFullYear()}m${String(start.getUTCMonth() + 1).padStart(2, '0')}`;
      expect(names).toContain(name);
    }
    const [again] = await db.sql<{ created: number }[]>`SELECT ledger_partitions_ensure(p_months_ahead => 3) AS created`;
    expect(again!.created).toBe(0);
    const [more] = await db.sql<{ created: number }[]>`SELECT ledger_partitions_ensure(p_months_ahead => 5) AS created`;
    expect(more!.created).toBe(2);
    await expect(db.sql`SELECT ledger_partitions_ensure(p_months_ahead => 25)`).rejects.toMatchObject({ code: '22023' });
  });

  it('refuses UPDATE, DELETE and TRUNCATE on the table and on every partition, and DETACH and DROP of any', async () => {
    const walletId = randomUUID();
    await post(db.sql, walletId, new Date(), 1);
    await post(db.sql, walletId, monthStart(1), 1);
    const names = await partitions(db.sql);
    expect(names.length).toBeGreaterThanOrEqual(5);
    await expect(db.sql`UPDATE ledger_entries SET amount = amount + 1 WHERE wallet_id = ${walletId}`).rejects.toThrow(/append-only/);
    await expect(db.sql`DELETE FROM ledger_entries WHERE wallet_id = ${walletId}`).rejects.toThrow(/append-only/);
    await expect(db.sql`TRUNCATE ledger_entries`).rejects.toThrow(/append-only/);
    for (const name of names) {
      // Row triggers fire only for rows: an empty partition has nothing to change anyway.
      const [rows] = await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM ${db.sql(name)}`;
      if (rows!.n > 0) {
        await expect(db.sql`UPDATE ${db.sql(name)} SET amount = amount + 1`).rejects.toThrow(/append-only/);
        await expect(db.sql`DELETE FROM ${db.sql(name)}`).rejects.toThrow(/append-only/);
      }
      await expect(db.sql`TRUNCATE ${db.sql(name)}`).rejects.toThrow(/append-only/);
      await expect(db.sql`ALTER TABLE ledger_entries DETACH PARTITION ${db.sql(name)}`).rejects.toThrow(/append-only/);
      await expect(db.sql.unsafe(`ALTER TABLE ledger_entries DETACH PARTITION "${name}" CONCURRENTLY`)).rejects.toThrow(/append-only/);
      await expect(db.sql`DROP TABLE ${db.sql(name)}`).rejects.toThrow(/append-only/);
    }
    await expect(db.sql`DROP TABLE ledger_entries`).rejects.toThrow(/append-only/);
    expect(await partitions(db.sql)).toEqual(names);
    const [count] = await db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM ledger_entries WHERE wallet_id = ${walletId}`;
    expect(count!.n).toBe(2);
  });

  it('reads one partition for a recent page of a wallet, and the next page from the cursor', async () => {
    const walletId = randomUUID();
    // A busy wallet (the pages that matter): postings in the history partition, this month's
    // (also the history's until next month) and the next two months', among other wallets'.
    await db.sql`
      WITH t AS (
        INSERT INTO ledger_transactions (id, type, created_at)
        SELECT gen_random_uuid(), 'deposit', m.at + make_interval(secs => g.i)
          FROM generate_series(1, 3000) g (i),
               unnest(ARRAY[now() - interval '20 days', now(), ${monthStart(1).toISOString()}::timestamptz,
                            ${monthStart(2).toISOString()}::timestamptz]) m (at)
        RETURNING id, created_at)
      INSERT INTO ledger_entries (transaction_id, wallet_id, system_account, amount, created_at)
      SELECT id, CASE WHEN random() < 0.5 THEN ${walletId}::uuid ELSE gen_random_uuid() END, NULL, 1, created_at FROM t`;
    const [{ postings } = { postings: 0 }] = await db.sql<{ postings: number }[]>`
      SELECT count(*)::int AS postings FROM ledger_entries WHERE wallet_id = ${walletId}`;
    await db.sql`ANALYZE`;
    const nonEmpty = new Set<string>();
    for (const name of await partitions(db.sql)) {
      if ((await db.sql`SELECT 1 FROM ${db.sql(name)} LIMIT 1`).length > 0) nonEmpty.add(name);
    }

    const explain = async (before: { id: number; createdAt: Date } | undefined, limit: number) => {
      const query = wallets.ledgerPageQuery(walletId, before, limit).toSQL();
      const [row] = await db.sql.unsafe<{ 'QUERY PLAN': [{ Plan: PlanNode }] }[]>(
        `EXPLAIN (ANALYZE, FORMAT JSON) ${query.sql}`,
        query.params as postgres.ParameterOrJSON<never>[],
      );
      // Months ahead are empty: opening their index costs nothing, so only partitions with rows count.
      const read = [...partitionsRead(row!['QUERY PLAN'][0].Plan)].filter((name) => nonEmpty.has(name));
      return read;
    };
    const newest = monthStart(2);
    const newestName = `ledger_entries_y${newest.getUTCFullYear()}m${String(newest.getUTCMonth() + 1).padStart(2, '0')}`;
    expect(await explain(undefined, 21)).toEqual([newestName]);

    const first = await wallets.ledgerPage(walletId, undefined, 20);
    expect(first).toHaveLength(20);
    const last = first[first.length - 1]!;
    expect(await explain({ id: last.id, createdAt: last.createdAt }, 6)).toEqual([newestName]);

    // Walking every page returns every posting once, newest first.
    const seen: number[] = [];
    const times: number[] = [];
    let cursor: { id: number; createdAt: Date } | undefined;
    for (;;) {
      const page = await wallets.ledgerPage(walletId, cursor, 1_000);
      seen.push(...page.map((entry) => entry.id));
      times.push(...page.map((entry) => entry.createdAt.getTime()));
      if (page.length < 1_000) break;
      cursor = { id: page[page.length - 1]!.id, createdAt: page[page.length - 1]!.createdAt };
    }
    expect(seen).toHaveLength(postings);
    expect(new Set(seen).size).toBe(postings);
    expect(times).toEqual([...times].sort((a, b) => b - a));
    // A cursor from before partitioning (the id alone) still continues after that posting.
    const legacy = await wallets.ledgerPage(walletId, { id: last.id }, 5);
    expect(legacy.map((entry) => entry.id)).toEqual(seen.slice(20, 25));
  });
});

describe('the partitioning migration on a filled database', () => {
  it('keeps every posting, its id and the books, and the identity continues after them', async () => {
    const name = testDatabaseName('file');
    const admin = postgres(TEST_POSTGRES_URL, { max: 1, onnotice: () => undefined });
    await admin.unsafe(`CREATE DATABASE "${name}"`);
    await admin.unsafe(`COMMENT ON DATABASE "${name}" IS '${TEST_DATABASE_COMMENT}'`);
    const folder = mkdtempSync(path.join(tmpdir(), 'ledger-migrations-'));
    const sql = postgres(databaseUrl(name), { max: 1, onnotice: () => undefined });
    try {
      // The migrations before partitioning: a copy of drizzle/ whose journal stops before it.
      cpSync(MIGRATIONS_FOLDER, folder, { recursive: true });
      const journalPath = path.join(folder, 'meta', '_journal.json');
      const journal = JSON.parse(readFileSync(journalPath, 'utf8')) as { entries: { tag: string }[] };
      const cut = journal.entries.findIndex((entry) => entry.tag === PARTITIONING_MIGRATION);
      expect(cut).toBeGreaterThan(0);
      writeFileSync(journalPath, JSON.stringify({ ...journal, entries: journal.entries.slice(0, cut) }));
      await migrate(drizzle(sql), { migrationsFolder: folder });
      expect(await sql`SELECT 1 FROM pg_partitioned_table WHERE partrelid = 'ledger_entries'::regclass`).toHaveLength(0);

      // A filled ledger over three months: 3,000 transactions, 6,000 postings over 50 wallets.
      await sql`
        CREATE TEMP TABLE fill AS
        SELECT gen_random_uuid() AS id, (SELECT array_agg(gen_random_uuid()) FROM generate_series(1, 50)) AS wallets,
               g.i, now() - make_interval(hours => g.i) AS at
          FROM generate_series(1, 3000) g (i)`;
      await sql`INSERT INTO ledger_transactions (id, type, created_at) SELECT id, 'deposit', at FROM fill`;
      await sql`
        INSERT INTO ledger_entries (transaction_id, wallet_id, system_account, amount, created_at)
        SELECT id, NULL, 'funding', -i, at FROM fill UNION ALL SELECT id, wallets[1 + i % 50], NULL, i, at FROM fill`;
      const before = await sql<{ id: string; transaction_id: string; amount: string; created_at: Date }[]>`
        SELECT id::text, transaction_id, amount::text, created_at FROM ledger_entries ORDER BY id`;
      expect(before).toHaveLength(6000);

      await migrate(drizzle(sql), { migrationsFolder: MIGRATIONS_FOLDER });

      expect(await sql`SELECT 1 FROM pg_partitioned_table WHERE partrelid = 'ledger_entries'::regclass`).toHaveLength(1);
      const after = await sql<{ id: string; transaction_id: string; amount: string; created_at: Date }[]>`
        SELECT id::text, transaction_id, amount::text, created_at FROM ledger_entries ORDER BY id`;
      expect(after).toEqual(before);
      const [sum] = await sql<{ total: string }[]>`SELECT sum(amount)::text AS total FROM ledger_entries`;
      expect(sum!.total).toBe('0');
      const [history] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM ledger_entries_unpartitioned`;
      expect(history!.n).toBe(6000);

      const transactionId = randomUUID();
      const lastId = Math.max(...before.map((row) => Number(row.id)));
      await sql`INSERT INTO ledger_transactions (id, type, created_at) VALUES (${transactionId}, 'deposit', now())`;
      const inserted = await sql<{ id: string }[]>`
        INSERT INTO ledger_entries (transaction_id, wallet_id, system_account, amount, created_at)
        VALUES (${transactionId}, NULL, 'funding', -1, now()), (${transactionId}, ${randomUUID()}, NULL, 1, now())
        RETURNING id::text`;
      expect(inserted.map((row) => Number(row.id)).sort()).toEqual([lastId + 1, lastId + 2]);
      await expect(sql`DELETE FROM ledger_entries_unpartitioned`).rejects.toThrow(/append-only/);
    } finally {
      await sql.end({ timeout: 5 });
      rmSync(folder, { recursive: true, force: true });
      await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await admin.end();
    }
  });
});
