// Report latency at 10 thousand and at 10 million ledger entries, side by side.
//
//   npm run bench:reports [-- --runs=15 --entries=10000000 --keep --layout=dense|history]
//
// --layout=dense (the default) puts every entry into the 90 days before the run, so the larger
// ledger is a thousand times busier; --layout=history puts the entries beyond the first 10
// thousand into the years before those 90 days, so both sizes have the same recent activity and
// differ only in how much history lies behind it.
// Creates its own database on the configured server (DATABASE_URL names the server), fills the
// ledger with set-based SQL (generate_series) straight into ledger_transactions, ledger_entries,
// deposits, purchases and withdrawals, derives running_totals, hourly_rollups and
// the author rollups from exactly those rows, then times the reports' own repository
// queries (median of N runs). The database is dropped at the end unless --keep is given.
import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import postgres, { Sql } from 'postgres';
import { loadConfigFromProcess } from '../src/config/app-config';
import { createSqlClient, Database } from '../src/db/database';
import { migrateDatabase } from '../src/db/migrate';
import { periodSegments } from '../src/reports/report-period';
import { ReportsRepository } from '../src/reports/reports.repository';

const args = Object.fromEntries(
  process.argv.slice(2).map((arg) => {
    const [key, value] = arg.replace(/^--/, '').split('=');
    return [key!, value ?? 'true'];
  }),
);
const RUNS = Number(args.runs ?? 15);
const WARMUP_RUNS = 2;
const TARGET_ENTRIES = Number(args.entries ?? 10_000_000);
const SMALL_ENTRIES = 10_000;
const BUYERS = 2_000;
const AUTHORS = 500;
/** Operations are spread over the 90 days before the anchor. */
const SPREAD_MS = 90 * 24 * 3_600_000;
const LAYOUT = args.layout ?? 'dense';
if (LAYOUT !== 'dense' && LAYOUT !== 'history') throw new Error('--layout must be dense or history');
/** Transactions per INSERT statement while filling, so progress shows and memory stays flat. */
const CHUNK = 250_000;

/**
 * The operation mix per 20 ledger entries: 2 deposits (4 entries), 4 purchases (12 entries:
 * buyer, author, platform) and 2 withdrawals (4 entries).
 */
function mixFor(entries: number) {
  const units = entries / 20;
  return { deposits: Math.round(2 * units), purchases: Math.round(4 * units), withdrawals: Math.round(2 * units) };
}

const uuidOf = (prefix: string, expression: string) =>
  `('${prefix}-0000-4000-8000-' || lpad(to_hex(${expression}), 12, '0'))::uuid`;
const buyerWallet = (i: string) => uuidOf('b0000000', `1 + (${i}) % ${BUYERS}`);
const authorWallet = (i: string) => uuidOf('a0000000', `1 + ((${i}) * 7 + (${i}) / 13) % ${AUTHORS}`);
const PLATFORM_WALLET = `'f0000000-0000-4000-8000-000000000001'::uuid`;
/** Where a fill step puts its operations: `spreadMs` of time ending `offsetMs` before the anchor. */
interface Window {
  offsetMs: number;
  spreadMs: number;
}

/** A deterministic, well-spread millisecond inside the window, per operation kind and index. */
const createdAt = (i: string, salt: number, window: Window) =>
  `(timestamptz '${'ANCHOR'}' - (${window.offsetMs} + ((${i}) * 2654435761 + ${salt}) % ${window.spreadMs}) * interval '1 millisecond')`;

async function fillRange(
  sql: Sql,
  anchor: string,
  window: Window,
  kind: 'deposit' | 'purchase' | 'withdrawal',
  from: number,
  to: number,
) {
  if (to < from) return;
  const at = (i: string, salt: number) => createdAt(i, salt, window).replace('ANCHOR', anchor);
  for (let start = from; start <= to; start += CHUNK) {
    const end = Math.min(to, start + CHUNK - 1);
    const series = `generate_series(${start}::bigint, ${end}::bigint) AS g(i)`;
    if (kind === 'deposit') {
      const id = uuidOf('d0000000', 'i');
      const wallet = buyerWallet('i');
      const amount = '(1000 + (i * 7919) % 100000)';
      await sql.unsafe(`INSERT INTO ledger_transactions (id, type, created_at) SELECT ${id}, 'deposit', ${at('i', 1)} FROM ${series}`);
      await sql.unsafe(`
        INSERT INTO deposits (id, user_id, request_hash, wallet_id, amount, balance_after, fractional_balance_after, created_at)
        SELECT ${id}, ${uuidOf('b1000000', `1 + i % ${BUYERS}`)}, 'bench', ${wallet}, ${amount}, ${amount}, 0, ${at('i', 1)} FROM ${series}`);
      await sql.unsafe(`
        INSERT INTO ledger_entries (transaction_id, wallet_id, system_account, amount, created_at)
        SELECT ${id}, CASE WHEN leg = 1 THEN NULL ELSE ${wallet} END, CASE WHEN leg = 1 THEN 'funding' END,
               CASE WHEN leg = 1 THEN -${amount} ELSE ${amount} END, ${at('i', 1)}
          FROM ${series} CROSS JOIN generate_series(1, 2) AS leg`);
    } else if (kind === 'withdrawal') {
      const id = uuidOf('e0000000', 'i');
      const wallet = buyerWallet('i');
      const amount = '(500 + (i * 6007) % 20000)';
      await sql.unsafe(`INSERT INTO ledger_transactions (id, type, created_at) SELECT ${id}, 'withdrawal', ${at('i', 3)} FROM ${series}`);
      await sql.unsafe(`
        INSERT INTO withdrawals (id, user_id, idempotency_key, request_hash, wallet_id, amount, created_at)
        SELECT ${id}, ${uuidOf('b1000000', `1 + i % ${BUYERS}`)}, 'w' || i, 'bench', ${wallet}, ${amount}, ${at('i', 3)} FROM ${series}`);
      await sql.unsafe(`
        INSERT INTO ledger_entries (transaction_id, wallet_id, system_account, amount, created_at)
        SELECT ${id}, CASE WHEN leg = 1 THEN ${wallet} END, CASE WHEN leg = 2 THEN 'payout' END,
               CASE WHEN leg = 1 THEN -${amount} ELSE ${amount} END, ${at('i', 3)}
          FROM ${series} CROSS JOIN generate_series(1, 2) AS leg`);
    } else {
      const id = uuidOf('c0000000', 'i');
      // Prices are whole multiples of 10 cents, so 70% is whole cents and the carry stays 0:
      // the purchases table's carry identity holds without replaying each author's history.
      const price = '(10 * (1 + (i * 104729) % 5000))';
      await sql.unsafe(`INSERT INTO ledger_transactions (id, type, created_at) SELECT ${id}, 'purchase', ${at('i', 2)} FROM ${series}`);
      await sql.unsafe(`
        INSERT INTO purchases (id, user_id, idempotency_key, request_hash, buyer_wallet_id, author_wallet_id, item_price,
                               royalty_percent, author_amount, platform_amount, fractional_before, fractional_after, created_at)
        SELECT ${id}, ${uuidOf('b1000000', `1 + i % ${BUYERS}`)}, 'p' || i, 'bench', ${buyerWallet('i')}, ${authorWallet('i')},
               ${price}, 70, ${price} * 7 / 10, ${price} * 3 / 10, 0, 0, ${at('i', 2)}
          FROM ${series}`);
      await sql.unsafe(`
        INSERT INTO ledger_entries (transaction_id, wallet_id, amount, created_at)
        SELECT ${id}, CASE leg WHEN 1 THEN ${buyerWallet('i')} WHEN 2 THEN ${authorWallet('i')} ELSE ${PLATFORM_WALLET} END,
               CASE leg WHEN 1 THEN -${price} WHEN 2 THEN ${price} * 7 / 10 ELSE ${price} * 3 / 10 END, ${at('i', 2)}
          FROM ${series} CROSS JOIN generate_series(1, 3) AS leg`);
    }
  }
}

/** Rebuilds every derived aggregate from the rows just inserted, spread over the 16 slots. */
async function rebuildAggregates(sql: Sql) {
  await sql`DELETE FROM hourly_rollups`;
  await sql`DELETE FROM author_hourly_rollups`;
  await sql`DELETE FROM author_daily_rollups`;
  await sql`DELETE FROM running_totals`;
  await sql`
    INSERT INTO hourly_rollups (bucket_start, slot, deposited, withdrawn, purchase_volume, royalties, platform_revenue, purchase_count)
    SELECT bucket, slot, sum(deposited), sum(withdrawn), sum(volume), sum(royalties), sum(platform), sum(n)
      FROM (
        SELECT date_trunc('hour', created_at, 'UTC') AS bucket, get_byte(uuid_send(id), 15) % 16 AS slot,
               amount AS deposited, 0 AS withdrawn, 0 AS volume, 0 AS royalties, 0 AS platform, 0 AS n FROM deposits
        UNION ALL
        SELECT date_trunc('hour', created_at, 'UTC'), get_byte(uuid_send(id), 15) % 16, 0, amount, 0, 0, 0, 0 FROM withdrawals
        UNION ALL
        SELECT date_trunc('hour', created_at, 'UTC'), get_byte(uuid_send(id), 15) % 16, 0, 0, item_price, author_amount,
               platform_amount, 1 FROM purchases
      ) x
     GROUP BY bucket, slot`;
  await sql`
    INSERT INTO running_totals (slot, deposited, withdrawn, purchase_volume, royalties, platform_revenue, purchase_count)
    SELECT slot, sum(deposited), sum(withdrawn), sum(purchase_volume), sum(royalties), sum(platform_revenue), sum(purchase_count)
      FROM hourly_rollups GROUP BY slot`;
  await sql`
    INSERT INTO author_hourly_rollups (author_wallet_id, bucket_start, sales_count, gross_volume, royalty)
    SELECT author_wallet_id, date_trunc('hour', created_at, 'UTC'), count(*), sum(item_price), sum(author_amount)
      FROM purchases GROUP BY 1, 2`;
  // The filler's session skips triggers, so the daily rows the trigger would keep are built here.
  await sql`
    INSERT INTO author_daily_rollups (author_wallet_id, day_start, sales_count, gross_volume, royalty)
    SELECT author_wallet_id, date_trunc('day', bucket_start, 'UTC'), sum(sales_count), sum(gross_volume), sum(royalty)
      FROM author_hourly_rollups GROUP BY 1, 2`;
  await sql`ANALYZE`;
}

/** Consistency check: the aggregates equal the ledger they were derived from. */
async function checkAggregates(sql: Sql) {
  const [row] = await sql<{ ok: boolean; entries: string }[]>`
    SELECT (SELECT sum(deposited) FROM running_totals) = (SELECT -sum(amount) FROM ledger_entries WHERE system_account = 'funding')
       AND (SELECT sum(withdrawn) FROM running_totals) = (SELECT sum(amount) FROM ledger_entries WHERE system_account = 'payout')
       AND (SELECT sum(royalties) FROM running_totals) = (SELECT sum(royalty) FROM author_hourly_rollups)
       AND (SELECT sum(royalties) FROM running_totals) = (SELECT sum(royalty) FROM author_daily_rollups)
       AND (SELECT sum(amount) FROM ledger_entries) = 0 AS ok,
           (SELECT count(*) FROM ledger_entries)::text AS entries`;
  if (!row!.ok) throw new Error('aggregates disagree with the ledger');
  return Number(row!.entries);
}

async function time(run: () => Promise<unknown>): Promise<{ medianMs: number; minMs: number; maxMs: number }> {
  for (let i = 0; i < WARMUP_RUNS; i++) await run();
  const samples: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const started = process.hrtime.bigint();
    await run();
    samples.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  samples.sort((a, b) => a - b);
  return { medianMs: samples[Math.floor(samples.length / 2)]!, minMs: samples[0]!, maxMs: samples[samples.length - 1]! };
}

async function measure(repository: ReportsRepository, anchorMs: number) {
  // 30 days ending 2 h 41 min before the anchor, both edges off the hour: two partial buckets.
  const period = {
    from: new Date(anchorMs - 30 * 24 * 3_600_000 - (17 * 60 + 23) * 1_000 - 456),
    to: new Date(anchorMs - (2 * 60 + 41) * 60_000 - 12_345),
  };
  const segments = periodSegments(period);
  const author = 'a0000000-0000-4000-8000-000000000001';
  return {
    'all-time report (running totals)': await time(() => repository.readFinancialFigures(null)),
    '30-day report with partial edges': await time(() => repository.readFinancialFigures(segments)),
    'top 10 authors, 30 days': await time(() => repository.topAuthors(segments, 10)),
    'one author royalties, 30 days': await time(() => repository.readAuthorFigures(author, segments)),
  };
}

async function main() {
  const logger = new Logger('bench:reports');
  const serverUrl = new URL(loadConfigFromProcess().database.url);
  const name = `wallet_bench_reports_${randomBytes(4).toString('hex')}`;
  serverUrl.pathname = '/postgres';
  const admin = postgres(serverUrl.toString(), { max: 1, onnotice: () => undefined });
  await admin.unsafe(`CREATE DATABASE "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  await migrateDatabase(url.toString(), logger);

  // The filler: FK triggers are skipped (session_replication_role) because every id it writes
  // is generated consistently; the append-only triggers only fire on UPDATE/DELETE anyway.
  const sql = postgres(url.toString(), {
    max: 1,
    onnotice: () => undefined,
    connection: { session_replication_role: 'replica', synchronous_commit: 'off', maintenance_work_mem: '256MB', work_mem: '64MB' },
  });
  const database = new Database(createSqlClient({ url: url.toString(), poolMax: 2, applicationName: 'bench-reports' }));
  const repository = new ReportsRepository(database);
  const anchorMs = Math.floor(Date.now() / 1_000) * 1_000;
  const anchor = new Date(anchorMs).toISOString();
  const results: Record<string, Awaited<ReturnType<typeof measure>>> = {};
  try {
    await sql.unsafe(`
      INSERT INTO users (id) SELECT ${uuidOf('b1000000', 'i')} FROM generate_series(1, ${BUYERS}) i;
      INSERT INTO users (id) SELECT ${uuidOf('a1000000', 'i')} FROM generate_series(1, ${AUTHORS}) i;
      INSERT INTO users (id) VALUES ('f1000000-0000-4000-8000-000000000001');
      INSERT INTO wallets (id, user_id) SELECT ${uuidOf('b0000000', 'i')}, ${uuidOf('b1000000', 'i')} FROM generate_series(1, ${BUYERS}) i;
      INSERT INTO wallets (id, user_id) SELECT ${uuidOf('a0000000', 'i')}, ${uuidOf('a1000000', 'i')} FROM generate_series(1, ${AUTHORS}) i;
      INSERT INTO wallets (id, user_id) VALUES (${PLATFORM_WALLET}, 'f1000000-0000-4000-8000-000000000001');`);

    let filled = { deposits: 0, purchases: 0, withdrawals: 0 };
    const fillTimes: Record<string, number> = {};
    for (const entries of [SMALL_ENTRIES, TARGET_ENTRIES]) {
      const mix = mixFor(entries);
      const started = Date.now();
      // history: what the larger fill adds goes before the first 90 days, as densely as they are.
      const window: Window =
        LAYOUT === 'history' && entries > SMALL_ENTRIES
          ? { offsetMs: SPREAD_MS, spreadMs: SPREAD_MS * Math.ceil(entries / SMALL_ENTRIES) }
          : { offsetMs: 0, spreadMs: SPREAD_MS };
      await fillRange(sql, anchor, window, 'deposit', filled.deposits + 1, mix.deposits);
      await fillRange(sql, anchor, window, 'purchase', filled.purchases + 1, mix.purchases);
      await fillRange(sql, anchor, window, 'withdrawal', filled.withdrawals + 1, mix.withdrawals);
      const insertedMs = Date.now() - started;
      await rebuildAggregates(sql);
      const count = await checkAggregates(sql);
      fillTimes[String(count)] = (Date.now() - started) / 1_000;
      logger.log(`filled to ${count} entries in ${fillTimes[String(count)]!.toFixed(1)} s (inserts ${(insertedMs / 1_000).toFixed(1)} s)`);
      filled = mix;
      results[String(count)] = await measure(repository, anchorMs);
    }

    const sizes = Object.keys(results);
    const [rollupRows] = await sql<{ hourly: string; author: string; authorDaily: string }[]>`
      SELECT (SELECT count(*) FROM hourly_rollups)::text AS hourly, (SELECT count(*) FROM author_hourly_rollups)::text AS author,
             (SELECT count(*) FROM author_daily_rollups)::text AS "authorDaily"`;
    const lines = [
      `layout: ${LAYOUT}; runs per query: ${RUNS} (after ${WARMUP_RUNS} warm-up runs); fill times (s): ${JSON.stringify(fillTimes)}`,
      `rollup rows at the largest size: hourly ${rollupRows!.hourly}, author-hourly ${rollupRows!.author}, ` +
        `author-daily ${rollupRows!.authorDaily}`,
      '',
      `| query | ${sizes.map((s) => `median ms @ ${Number(s).toLocaleString('en-US')} entries`).join(' | ')} |`,
      `| --- | ${sizes.map(() => '---').join(' | ')} |`,
      ...Object.keys(results[sizes[0]!]!).map(
        (query) =>
          `| ${query} | ${sizes
            .map((s) => {
              const r = results[s]![query as keyof (typeof results)[string]];
              return `${r.medianMs.toFixed(2)} (min ${r.minMs.toFixed(2)}, max ${r.maxMs.toFixed(2)})`;
            })
            .join(' | ')} |`,
      ),
    ];
    process.stdout.write(`${lines.join('\n')}\n`);
  } finally {
    await database.close();
    await sql.end({ timeout: 5 });
    if (args.keep === undefined) await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    else logger.log(`kept database ${name}`);
    await admin.end({ timeout: 5 });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench:reports failed: ${String(error)}\n`);
  process.exit(1);
});
