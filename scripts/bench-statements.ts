// Purchase search pages at 10 thousand and at N purchases; balance at an instant and a streamed
// CSV statement on one wallet with a million postings, beside one with a thousand (ADR 0068).
//
//   npm run bench:statements [-- --purchases=1000000 --postings=1000000 --runs=15 --keep]
//   BENCH_PURCHASES=10000000 nice -n 10 npm run bench:statements -- --postings=0
//
// Creates its own database on the configured server (DATABASE_URL names the server), fills
// purchases and one wallet's postings with set-based SQL (generate_series; foreign keys skipped
// through session_replication_role, CHECKs still apply), then times the repositories' own
// queries (median of N runs). Beyond the first 10 thousand, purchases are filled with their
// secondary indexes dropped and then rebuilt from the definitions the migrations gave (the same
// indexes, built once instead of row by row: 10 million in minutes rather than an hour).
// --postings=0 skips the wallet part. The database is dropped at the end unless --keep is given.
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
import { PositionSnapshotsRepository } from '../src/wallets/position-snapshots';
import { WalletsRepository } from '../src/wallets/wallets.repository';

const args = Object.fromEntries(
  process.argv.slice(2).map((arg) => {
    const [key, value] = arg.replace(/^--/, '').split('=');
    return [key!, value ?? 'true'];
  }),
);
const RUNS = Number(args.runs ?? 15);
const SMALL_PURCHASES = 10_000;
const TARGET_PURCHASES = Number(args.purchases ?? process.env.BENCH_PURCHASES ?? 1_000_000);
const POSTINGS = Number(args.postings ?? 1_000_000);
const BUYERS = 100;
const AUTHORS = 50;
const ITEMS = 100;
const CHUNK = 1_000_000;
const PAGE = 50;

const uuidOf = (prefix: string, expression: string) => `('${prefix}-0000-4000-8000-' || lpad(to_hex(${expression}), 12, '0'))::uuid`;
const STATEMENT_WALLET = 'c0000000-0000-4000-8000-000000000001';
const SMALL_WALLET = 'c0000000-0000-4000-8000-000000000002';
const SMALL_POSTINGS = 1_000;

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
  const snapshots = new PositionSnapshotsRepository(database);
  const results: Record<string, unknown> = {};
  try {
    await sql.unsafe(`
      INSERT INTO users (id) SELECT ${uuidOf('b1000000', 'i')} FROM generate_series(1, ${BUYERS}) i;
      INSERT INTO users (id) SELECT ${uuidOf('a1000000', 'i')} FROM generate_series(1, ${AUTHORS}) i;
      INSERT INTO users (id) VALUES ('c1000000-0000-4000-8000-000000000001');
      INSERT INTO wallets (id, user_id) SELECT ${uuidOf('b0000000', 'i')}, ${uuidOf('b1000000', 'i')} FROM generate_series(1, ${BUYERS}) i;
      INSERT INTO wallets (id, user_id) SELECT ${uuidOf('a0000000', 'i')}, ${uuidOf('a1000000', 'i')} FROM generate_series(1, ${AUTHORS}) i;
      INSERT INTO users (id) VALUES ('c1000000-0000-4000-8000-000000000002');
      INSERT INTO wallets (id, user_id) VALUES ('${STATEMENT_WALLET}', 'c1000000-0000-4000-8000-000000000001');
      INSERT INTO wallets (id, user_id) VALUES ('${SMALL_WALLET}', 'c1000000-0000-4000-8000-000000000002');`);

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
    const filled = process.hrtime.bigint();
    const secondary = await sql<{ name: string; definition: string }[]>`
      SELECT i.indexname AS name, i.indexdef AS definition FROM pg_indexes i
       WHERE i.tablename = 'purchases' AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conname = i.indexname)`;
    for (const index of secondary) await sql.unsafe(`DROP INDEX ${index.name}`);
    await fillPurchases(sql, SMALL_PURCHASES + 1, TARGET_PURCHASES);
    for (const index of secondary) await sql.unsafe(index.definition);
    results[`fill to ${TARGET_PURCHASES} purchases, indexes rebuilt: s`] = Math.round(Number(process.hrtime.bigint() - filled) / 1e9);
    results['purchases table and indexes: MB'] = Number(
      (await sql<{ mb: string }[]>`SELECT (pg_total_relation_size('purchases') / 1000000)::text AS mb`)[0]!.mb,
    );
    await searchAt(`${TARGET_PURCHASES} purchases`);
    if (POSTINGS === 0) {
      console.log(JSON.stringify(results, null, 2));
      return;
    }

    logger.log(`filling ${POSTINGS} postings of one wallet and ${SMALL_POSTINGS} of another`);
    await sql`SELECT ledger_partitions_ensure(p_months_ahead => 1)`;
    // Deposits of 1 to 100 cents over the last 20 days, newest last (the small wallet's spread alike).
    const fillPostings = async (walletId: string, prefix: string, count: number) => {
      const stepMs = (20 * 86_400_000) / count;
      for (let start = 1; start <= count; start += CHUNK) {
        const end = Math.min(count, start + CHUNK - 1);
        await sql.unsafe(`
          INSERT INTO ledger_transactions (id, type, created_at)
          SELECT ${uuidOf(prefix, 'i')}, 'deposit', now() - (${count} - i) * interval '1 millisecond' * ${stepMs}
            FROM generate_series(${start}, ${end}) i;
          INSERT INTO ledger_entries (transaction_id, wallet_id, amount, created_at)
          SELECT ${uuidOf(prefix, 'i')}, '${walletId}'::uuid, 1 + i % 100, now() - (${count} - i) * interval '1 millisecond' * ${stepMs}
            FROM generate_series(${start}, ${end}) i;`);
      }
    };
    await fillPostings(STATEMENT_WALLET, 'e0000000', POSTINGS);
    await fillPostings(SMALL_WALLET, 'e1000000', SMALL_POSTINGS);
    await sql`ANALYZE ledger_entries`;
    const middle = new Date(Date.now() - 10 * 86_400_000);
    const label = (count: number) => (count >= 1_000_000 ? `${count / 1_000_000}M` : `${count / 1_000}k`);
    results[`balance at, ${label(POSTINGS)} postings, no snapshots (middle / now): ms`] = [
      await median(() => wallets.positionAt(STATEMENT_WALLET, middle)),
      await median(() => wallets.positionAt(STATEMENT_WALLET, new Date())),
    ];

    // Snapshots as the worker's sweep takes them, from the first sweep of the whole history.
    const swept = process.hrtime.bigint();
    let snapshotsTaken = 0;
    for (;;) {
      const outcome = await snapshots.sweepOnce();
      snapshotsTaken += outcome.snapshotsTaken;
      if (!outcome.swept || !outcome.more) break;
    }
    results['snapshots: taken'] = snapshotsTaken;
    results['snapshots: seconds to build from nothing'] = Math.round(Number(process.hrtime.bigint() - swept) / 1e7) / 100;
    await sql`ANALYZE wallet_position_snapshots`;
    for (const [walletId, count] of [[SMALL_WALLET, SMALL_POSTINGS], [STATEMENT_WALLET, POSTINGS]] as const) {
      results[`balance at, ${label(count)} postings, with snapshots (middle / now): ms`] = [
        await median(() => wallets.positionAt(walletId, middle)),
        await median(() => wallets.positionAt(walletId, new Date())),
      ];
    }
    // The same instants, answered alike with and without them.
    const [withSnapshots, bruteForce] = await Promise.all([
      wallets.positionAt(STATEMENT_WALLET, middle),
      sql<{ balance: string }[]>`SELECT coalesce(sum(amount), 0)::text AS balance FROM ledger_entries
                                  WHERE wallet_id = ${STATEMENT_WALLET} AND created_at <= ${middle.toISOString()}::timestamptz`,
    ]);
    if (withSnapshots.balanceCents !== Number(bruteForce[0]!.balance)) throw new Error('balance at the middle differs from the sum of the postings');

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
