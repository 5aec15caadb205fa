// Purchase search pages at 10 thousand and at N purchases; balance at an instant and a streamed
// CSV statement on one wallet with a million postings.
//
//   npm run bench:statements [-- --purchases=1000000 --postings=1000000 --runs=15 --keep]
//
// Creates its own database on the configured server (DATABASE_URL names the server), fills
// purchases and one wallet's postings with set-based SQL (generate_series; foreign keys skipped
// through session_replication_role, CHECKs still apply), then times the repositories' own
// queries (median of N runs). The database is dropped at the end unless --keep is given.
import { Logger } from '@nestjs/common';
import { stringify } from 'csv-stringify';
import { randomBytes } from 'node:crypto';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import postgres from 'postgres';
import { loadConfigFromProcess } from '../src/config/app-config';
import { createSqlClient, Database } from '../src/db/database';
import { migrateDatabase } from '../src/db/migrate';
import { PurchasesRepository } from '../src/purchases/purchases.repository';
import { STATEMENT_COLUMNS } from '../src/wallets/dto/statement.dto';
import { WalletsRepository } from '../src/wallets/wallets.repository';

const args = Object.fromEntries(
  process.argv.slice(2).map((arg) => {
    const [key, value] = arg.replace(/^--/, '').split('=');
    return [key!, value ?? 'true'];
  }),
);
const RUNS = Number(args.runs ?? 15);
const SMALL_PURCHASES = 10_000;
const TARGET_PURCHASES = Number(args.purchases ?? 1_000_000);
const POSTINGS = Number(args.postings ?? 1_000_000);
const BUYERS = 100;
const AUTHORS = 50;
const ITEMS = 100;
const CHUNK = 250_000;
const PAGE = 50;

const uuidOf = (prefix: string, expression: string) => `('${prefix}-0000-4000-8000-' || lpad(to_hex(${expression}), 12, '0'))::uuid`;
const STATEMENT_WALLET = 'c0000000-0000-4000-8000-000000000001';

async function median(work: () => Promise<unknown>): Promise<number> {
  const times: number[] = [];
  for (let run = 0; run < RUNS + 2; run += 1) {
    const started = process.hrtime.bigint();
    await work();
    if (run >= 2) times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  times.sort((a, b) => a - b);
  return Math.round(times[Math.floor(times.length / 2)]! * 100) / 100;
}

async function fillPurchases(sql: postgres.Sql, from: number, to: number): Promise<void> {
  for (let start = from; start <= to; start += CHUNK) {
    const end = Math.min(to, start + CHUNK - 1);
    // 100-cent items at 70%: author 70, platform 30, the carry untouched; spread over 90 days.
    await sql.unsafe(`
      INSERT INTO purchases (id, user_id, idempotency_key, request_hash, buyer_wallet_id, author_wallet_id, item_price,
                             royalty_percent, author_amount, platform_amount, fractional_before, fractional_after,
                             item_id, created_at)
      SELECT ${uuidOf('d0000000', 'i')}, ${uuidOf('b1000000', '1 + i % ' + BUYERS)}, 'k' || i, 'h',
             ${uuidOf('b0000000', '1 + i % ' + BUYERS)}, ${uuidOf('a0000000', '1 + (i * 7) % ' + AUTHORS)}, 100, 70, 70, 30, 0, 0,
             'item-' || (i % ${ITEMS}), now() - (i % 7776000) * interval '1 second'
        FROM generate_series(${start}, ${end}) i`);
  }
}

async function main(): Promise<void> {
  const logger = new Logger('bench:statements');
  const serverUrl = new URL(loadConfigFromProcess().database.url);
  const name = `wallet_bench_statements_${randomBytes(4).toString('hex')}`;
  serverUrl.pathname = '/postgres';
  const admin = postgres(serverUrl.toString(), { max: 1, onnotice: () => undefined });
  await admin.unsafe(`CREATE DATABASE "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  await migrateDatabase(url.toString(), logger);
  const sql = postgres(url.toString(), {
    max: 1,
    onnotice: () => undefined,
    connection: { session_replication_role: 'replica', synchronous_commit: 'off', maintenance_work_mem: '256MB' },
  });
  const database = new Database(createSqlClient({ url: url.toString(), poolMax: 2, applicationName: 'bench-statements' }));
  const purchases = new PurchasesRepository(database);
  const wallets = new WalletsRepository(database);
  const results: Record<string, unknown> = {};
  try {
    await sql.unsafe(`
      INSERT INTO users (id) SELECT ${uuidOf('b1000000', 'i')} FROM generate_series(1, ${BUYERS}) i;
      INSERT INTO users (id) SELECT ${uuidOf('a1000000', 'i')} FROM generate_series(1, ${AUTHORS}) i;
      INSERT INTO users (id) VALUES ('c1000000-0000-4000-8000-000000000001');
      INSERT INTO wallets (id, user_id) SELECT ${uuidOf('b0000000', 'i')}, ${uuidOf('b1000000', 'i')} FROM generate_series(1, ${BUYERS}) i;
      INSERT INTO wallets (id, user_id) SELECT ${uuidOf('a0000000', 'i')}, ${uuidOf('a1000000', 'i')} FROM generate_series(1, ${AUTHORS}) i;
      INSERT INTO wallets (id, user_id) VALUES ('${STATEMENT_WALLET}', 'c1000000-0000-4000-8000-000000000001');`);

    const searches = {
      buyer: { buyerWalletId: 'b0000000-0000-4000-8000-000000000007' },
      author: { authorWalletId: 'a0000000-0000-4000-8000-000000000007' },
      item: { itemId: 'item-7' },
    };
    const searchAt = async (label: string) => {
      await sql`ANALYZE purchases`;
      for (const [kind, filter] of Object.entries(searches)) {
        const first = await purchases.search({ ...filter, limit: PAGE + 1 });
        const cursor = first[PAGE - 1]!;
        results[`search ${kind}, ${label}: first page ms`] = await median(() => purchases.search({ ...filter, limit: PAGE + 1 }));
        results[`search ${kind}, ${label}: next page ms`] = await median(() =>
          purchases.search({ ...filter, before: { createdAt: cursor.createdAt, id: cursor.id }, limit: PAGE + 1 }),
        );
      }
    };
    await fillPurchases(sql, 1, SMALL_PURCHASES);
    await searchAt(`${SMALL_PURCHASES} purchases`);
    logger.log(`filling ${TARGET_PURCHASES} purchases`);
    await fillPurchases(sql, SMALL_PURCHASES + 1, TARGET_PURCHASES);
    await searchAt(`${TARGET_PURCHASES} purchases`);

    logger.log(`filling ${POSTINGS} postings of one wallet`);
    await sql`SELECT ledger_partitions_ensure(p_months_ahead => 1)`;
    for (let start = 1; start <= POSTINGS; start += CHUNK) {
      const end = Math.min(POSTINGS, start + CHUNK - 1);
      // Deposits of 1 to 100 cents over the last 20 days, newest last.
      await sql.unsafe(`
        INSERT INTO ledger_transactions (id, type, created_at)
        SELECT ${uuidOf('e0000000', 'i')}, 'deposit', now() - (${POSTINGS} - i) * interval '1 millisecond' * 1700
          FROM generate_series(${start}, ${end}) i;
        INSERT INTO ledger_entries (transaction_id, wallet_id, amount, created_at)
        SELECT ${uuidOf('e0000000', 'i')}, '${STATEMENT_WALLET}'::uuid, 1 + i % 100, now() - (${POSTINGS} - i) * interval '1 millisecond' * 1700
          FROM generate_series(${start}, ${end}) i;`);
    }
    await sql`ANALYZE ledger_entries`;
    const middle = new Date(Date.now() - (POSTINGS / 2) * 1.7);
    results['balance at, middle of 1M postings: ms'] = await median(() => wallets.positionAt(STATEMENT_WALLET, middle));
    results['balance at, now: ms'] = await median(() => wallets.positionAt(STATEMENT_WALLET, new Date()));

    let rows = 0;
    let bytes = 0;
    let rssPeak = 0;
    const rssBefore = process.memoryUsage().rss;
    const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, process.memoryUsage().rss)), 50);
    const started = process.hrtime.bigint();
    async function* records() {
      let balance = 0;
      for await (const chunk of wallets.statement(STATEMENT_WALLET, {}, 1_000)) {
        if (!Array.isArray(chunk)) continue;
        for (const row of chunk) {
          balance += row.amountCents;
          rows += 1;
          yield { createdAt: row.createdAt.toISOString(), type: row.type, amount: row.amountCents, balance, id: row.id, transactionId: row.transactionId, purchaseId: row.purchaseId };
        }
      }
    }
    await pipeline(
      Readable.from(records()),
      stringify({ header: true, columns: [...STATEMENT_COLUMNS] }),
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          bytes += chunk.length;
          done();
        },
      }),
    );
    clearInterval(sampler);
    results['statement: rows'] = rows;
    results['statement: MB of CSV'] = Math.round(bytes / 1e6);
    results['statement: seconds'] = Math.round(Number(process.hrtime.bigint() - started) / 1e7) / 100;
    results['statement: RSS before MB'] = Math.round(rssBefore / 1e6);
    results['statement: RSS peak MB'] = Math.round(rssPeak / 1e6);
    console.log(JSON.stringify(results, null, 2));
  } finally {
    await database.close();
    await sql.end();
    if (args.keep === undefined) await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await admin.end();
  }
}

void main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
