/**
 * Reconciliation at scale: fills a fresh database with N ledger entries (set-based SQL, books
 * consistent to the cent), runs one full reconciliation and reports its duration, the process's
 * peak resident memory and what it found (a correct fill finds nothing). Then, as a deployment
 * runs it (ADR 0028): a little new activity (BENCH_NEW_PURCHASES purchases, default 1,000) and
 * the first incremental run (it opens a sweep cycle, so it checks the changes only); as much
 * activity again and the next run, RECONCILE_EVERY later (the changes since, plus its slice of
 * the sweep: RECONCILE_EVERY / RECONCILE_SWEEP_PERIOD of the books), the steady state; and the
 * incremental run that completes the cycle, whose findings must equal the full run's.
 *
 *   npm run bench:reconcile -- 10000 10000000
 *
 * BENCH_POSTGRES_URL (default postgres://postgres@127.0.0.1:5432/postgres) names the server;
 * each size gets its own database, dropped afterwards unless BENCH_KEEP_DATABASE=true;
 * BENCH_REUSE_DATABASE=<name> measures a kept one again without filling it.
 */
import { Logger } from '@nestjs/common';
import { randomBytes } from 'node:crypto';
import postgres, { Sql } from 'postgres';
import { loadConfig } from '../src/config/app-config';
import { createSqlClient, Database } from '../src/db/database';
import { migrateDatabase } from '../src/db/migrate';
import { MetricsService } from '../src/metrics/metrics.service';
import { IncrementalReconciliationRepository } from '../src/reconciliation/reconciliation-incremental.repository';
import { ReconciliationRepository } from '../src/reconciliation/reconciliation.repository';
import { ReconciliationService } from '../src/reconciliation/reconciliation.service';
import { RunOutcome } from '../src/reconciliation/reconciliation.types';

const SERVER_URL = process.env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const KEEP_DATABASE = process.env.BENCH_KEEP_DATABASE === 'true';
const PLATFORM_USER_ID = '00000000-0000-4000-8000-000000000001';
/** Purchases per fill statement: keeps each transaction to a few hundred thousand rows. */
const FILL_BATCH_PURCHASES = 250_000;
/** The ledger's time span: 30 days of hourly buckets. */
const SPAN_HOURS = 30 * 24;
const MEMORY_SAMPLE_MS = 100;
const NEW_PURCHASES = Number(process.env.BENCH_NEW_PURCHASES ?? 1_000);

function databaseUrl(name: string): string {
  const url = new URL(SERVER_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

/**
 * Entries: every purchase posts 3 (buyer, author, platform; prices are multiples of 10, so no
 * leg is zero and no carry arises), every deposit 2. A quarter of the entries are deposits.
 */
async function fill(sql: Sql, entries: number): Promise<{ wallets: number; purchases: number; deposits: number }> {
  const deposits = Math.max(1, Math.floor(entries / 8));
  const purchases = Math.max(1, Math.floor((entries - 2 * deposits) / 3));
  const wallets = Math.min(10_000, Math.max(10, Math.floor(entries / 1_000)));

  await sql`INSERT INTO users (id) VALUES (${PLATFORM_USER_ID})`;
  await sql`INSERT INTO wallets (user_id) VALUES (${PLATFORM_USER_ID})`;
  await sql`
    CREATE TEMP TABLE bench_wallets AS
    SELECT g.i - 1 AS n, gen_random_uuid() AS id, gen_random_uuid() AS user_id FROM generate_series(1, ${wallets}::int) g (i)`;
  await sql`INSERT INTO users (id) SELECT user_id FROM bench_wallets`;
  await sql`INSERT INTO wallets (id, user_id) SELECT id, user_id FROM bench_wallets`;
  const [platform] = await sql<{ id: string }[]>`SELECT id FROM wallets WHERE user_id = ${PLATFORM_USER_ID}`;
  const start = new Date(Date.now() - SPAN_HOURS * 3_600_000).toISOString();

  // Deposits: large enough that no buyer goes below zero.
  await sql`
    CREATE TEMP TABLE bench_deposits AS
    SELECT gen_random_uuid() AS id, w.id AS wallet_id, w.user_id, 10000000::bigint AS amount,
           (${start}::timestamptz + (g.i::double precision / ${deposits}) * make_interval(hours => ${SPAN_HOURS}::int))::timestamptz(3) AS at
      FROM generate_series(0, ${deposits - 1}::int) g (i) JOIN bench_wallets w ON w.n = g.i % ${wallets}`;
  await sql`INSERT INTO ledger_transactions (id, type, created_at) SELECT id, 'deposit', at FROM bench_deposits`;
  await sql`
    INSERT INTO deposits (id, user_id, request_hash, wallet_id, amount, balance_after, fractional_balance_after, created_at)
    SELECT id, user_id, 'bench', wallet_id, amount, 0, 0, at FROM bench_deposits`;
  await sql`
    INSERT INTO ledger_entries (transaction_id, wallet_id, system_account, amount, created_at)
    SELECT id, NULL, 'funding', -amount, at FROM bench_deposits
    UNION ALL SELECT id, wallet_id, NULL, amount, at FROM bench_deposits`;

  for (let first = 0; first < purchases; first += FILL_BATCH_PURCHASES) {
    const last = Math.min(purchases, first + FILL_BATCH_PURCHASES) - 1;
    await sql.begin(async (tx) => {
      await tx`
        CREATE TEMP TABLE bench_purchases ON COMMIT DROP AS
        SELECT gen_random_uuid() AS id, b.id AS buyer, b.user_id, a.id AS author,
               (10 * (1 + g.i % 500))::bigint AS price,
               (${start}::timestamptz + (g.i::double precision / ${purchases}) * make_interval(hours => ${SPAN_HOURS}::int))::timestamptz(3) AS at
          FROM generate_series(${first}::int, ${last}::int) g (i)
          JOIN bench_wallets b ON b.n = g.i % ${wallets}
          JOIN bench_wallets a ON a.n = (g.i % ${wallets} + 1 + (g.i / ${wallets}) % (${wallets} - 1)) % ${wallets}`;
      await tx`INSERT INTO ledger_transactions (id, type, created_at) SELECT id, 'purchase', at FROM bench_purchases`;
      await tx`
        INSERT INTO purchases (id, user_id, idempotency_key, request_hash, buyer_wallet_id, author_wallet_id, item_price,
                               royalty_percent, author_amount, platform_amount, fractional_before, fractional_after, created_at)
        SELECT id, user_id, id::text, 'bench', buyer, author, price, 70, price * 7 / 10, price - price * 7 / 10, 0, 0, at
          FROM bench_purchases`;
      await tx`
        INSERT INTO ledger_entries (transaction_id, wallet_id, system_account, amount, created_at)
        SELECT id, buyer, NULL, -price, at FROM bench_purchases
        UNION ALL SELECT id, author, NULL, price * 7 / 10, at FROM bench_purchases
        UNION ALL SELECT id, ${platform!.id}::uuid, NULL, price - price * 7 / 10, at FROM bench_purchases`;
    });
  }

  // Derived state, computed from the ledger so that the books balance.
  await sql`
    UPDATE wallets w SET balance = l.amount
      FROM (SELECT wallet_id, sum(amount) AS amount FROM ledger_entries WHERE wallet_id IS NOT NULL GROUP BY wallet_id) l
     WHERE w.id = l.wallet_id`;
  await sql`
    INSERT INTO running_totals (slot, deposited, withdrawn, purchase_volume, royalties, platform_revenue, purchase_count)
    SELECT 0, (SELECT coalesce(sum(amount), 0) FROM deposits), 0,
           coalesce(sum(item_price), 0), coalesce(sum(author_amount), 0), coalesce(sum(platform_amount), 0), count(*)
      FROM purchases`;
  await sql`
    INSERT INTO hourly_rollups (bucket_start, slot, deposited, withdrawn, purchase_volume, royalties, platform_revenue, purchase_count)
    SELECT bucket, 0, sum(deposited), 0, sum(volume), sum(royalties), sum(platform), sum(sales) FROM (
      SELECT date_trunc('hour', created_at, 'UTC') AS bucket, amount AS deposited, 0 AS volume, 0 AS royalties, 0 AS platform, 0 AS sales
        FROM deposits
      UNION ALL
      SELECT date_trunc('hour', created_at, 'UTC'), 0, item_price, author_amount, platform_amount, 1 FROM purchases
    ) m GROUP BY bucket`;
  await sql`
    INSERT INTO author_hourly_rollups (author_wallet_id, bucket_start, sales_count, gross_volume, royalty)
    SELECT author_wallet_id, date_trunc('hour', created_at, 'UTC'), count(*), sum(item_price), sum(author_amount)
      FROM purchases GROUP BY 1, 2`;
  await sql`VACUUM ANALYZE`;
  return { wallets: wallets + 1, purchases, deposits };
}

/**
 * `count` purchases at the current instant between random wallets, with every derived figure
 * moved as the money functions move it (balances, running totals, hourly and author rollups).
 */
async function addActivity(sql: Sql, count: number): Promise<void> {
  await sql.begin(async (tx) => {
    const [platform] = await tx<{ id: string }[]>`SELECT id FROM wallets WHERE user_id = ${PLATFORM_USER_ID}`;
    await tx`
      CREATE TEMP TABLE bench_activity ON COMMIT DROP AS
      WITH numbered AS (
        SELECT id, user_id, row_number() OVER (ORDER BY id) - 1 AS n, count(*) OVER () AS total
          FROM wallets WHERE user_id <> ${PLATFORM_USER_ID})
      SELECT gen_random_uuid() AS id, b.id AS buyer, b.user_id, a.id AS author, (10 * (1 + g.i % 500))::bigint AS price,
             now()::timestamptz(3) AS at
        FROM generate_series(0, ${count - 1}::int) g (i)
        JOIN numbered b ON b.n = (g.i * 7919) % b.total
        JOIN numbered a ON a.n = ((g.i * 7919) % a.total + 1) % a.total`;
    await tx`INSERT INTO ledger_transactions (id, type, created_at) SELECT id, 'purchase', at FROM bench_activity`;
    await tx`
      INSERT INTO purchases (id, user_id, idempotency_key, request_hash, buyer_wallet_id, author_wallet_id, item_price,
                             royalty_percent, author_amount, platform_amount, fractional_before, fractional_after, created_at)
      SELECT id, user_id, id::text, 'bench', buyer, author, price, 70, price * 7 / 10, price - price * 7 / 10, 0, 0, at
        FROM bench_activity`;
    await tx`
      INSERT INTO ledger_entries (transaction_id, wallet_id, system_account, amount, created_at)
      SELECT id, buyer, NULL, -price, at FROM bench_activity
      UNION ALL SELECT id, author, NULL, price * 7 / 10, at FROM bench_activity
      UNION ALL SELECT id, ${platform!.id}::uuid, NULL, price - price * 7 / 10, at FROM bench_activity`;
    await tx`
      UPDATE wallets w SET balance = w.balance + d.amount
        FROM (SELECT e.wallet_id, sum(e.amount) AS amount
                FROM bench_activity a JOIN ledger_entries e ON e.transaction_id = a.id AND e.created_at = a.at
               GROUP BY e.wallet_id) d
       WHERE w.id = d.wallet_id`;
    await tx`
      UPDATE running_totals t SET purchase_volume = t.purchase_volume + s.volume, royalties = t.royalties + s.author_part,
             platform_revenue = t.platform_revenue + s.platform_part, purchase_count = t.purchase_count + s.sales
        FROM (SELECT sum(price) AS volume, sum(price * 7 / 10) AS author_part, sum(price - price * 7 / 10) AS platform_part,
                     count(*) AS sales FROM bench_activity) s
       WHERE t.slot = 0`;
    await tx`
      INSERT INTO hourly_rollups AS r (bucket_start, slot, purchase_volume, royalties, platform_revenue, purchase_count)
      SELECT date_trunc('hour', at, 'UTC'), 0, sum(price), sum(price * 7 / 10), sum(price - price * 7 / 10), count(*)
        FROM bench_activity GROUP BY 1
      ON CONFLICT (bucket_start, slot) DO UPDATE SET purchase_volume = r.purchase_volume + excluded.purchase_volume,
        royalties = r.royalties + excluded.royalties, platform_revenue = r.platform_revenue + excluded.platform_revenue,
        purchase_count = r.purchase_count + excluded.purchase_count`;
    await tx`
      INSERT INTO author_hourly_rollups AS r (author_wallet_id, bucket_start, sales_count, gross_volume, royalty)
      SELECT author, date_trunc('hour', at, 'UTC'), count(*), sum(price), sum(price * 7 / 10) FROM bench_activity GROUP BY 1, 2
      ON CONFLICT (author_wallet_id, bucket_start) DO UPDATE SET sales_count = r.sales_count + excluded.sales_count,
        gross_volume = r.gross_volume + excluded.gross_volume, royalty = r.royalty + excluded.royalty`;
  });
}

/** One reconciliation, timed, with the process's peak resident memory meanwhile. */
async function timed(work: () => Promise<RunOutcome>): Promise<{ outcome: RunOutcome; seconds: number; rssPeakMiB: number }> {
  let rssPeak = process.memoryUsage().rss;
  const sampler = setInterval(() => {
    rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
  }, MEMORY_SAMPLE_MS);
  const started = process.hrtime.bigint();
  try {
    const outcome = await work();
    return { outcome, seconds: Number((Number(process.hrtime.bigint() - started) / 1e9).toFixed(2)), rssPeakMiB: Math.round(rssPeak / 2 ** 20) };
  } finally {
    clearInterval(sampler);
  }
}

async function benchOne(entries: number): Promise<void> {
  // BENCH_REUSE_DATABASE names a database this script filled and kept: measured again, not refilled.
  const reused = process.env.BENCH_REUSE_DATABASE;
  const name = reused ?? `wallet_bench_reconcile_${randomBytes(4).toString('hex')}`;
  const admin = postgres(SERVER_URL, { max: 1, onnotice: () => undefined });
  if (!reused) await admin.unsafe(`CREATE DATABASE "${name}"`);
  const url = databaseUrl(name);
  const logger = new Logger('BenchReconcile');
  try {
    await migrateDatabase(url, logger);
    const fillSql = postgres(url, { max: 1, onnotice: () => undefined, connection: { statement_timeout: 0 } });
    const fillStarted = Date.now();
    const filled = reused ? { reused: true } : await fill(fillSql, entries);
    const [count] = await fillSql<{ n: string }[]>`SELECT count(*)::text AS n FROM ledger_entries`;
    await fillSql.end();
    const fillSeconds = (Date.now() - fillStarted) / 1_000;

    const config = loadConfig({ DATABASE_URL: url, PLATFORM_ACCOUNT_ID: PLATFORM_USER_ID, LOG_LEVEL: 'silent' });
    const database = new Database(createSqlClient({ url, poolMax: 2, applicationName: 'bench-reconcile' }));
    const repository = new ReconciliationRepository(database);
    const service = new ReconciliationService(
      repository,
      config,
      new MetricsService(),
      // reconcile() never uses the queue; the service only listens to its errors.
      { on: () => undefined } as never,
      new IncrementalReconciliationRepository(database),
    );
    const rssBeforeMiB = Math.round(process.memoryUsage().rss / 2 ** 20);
    // The full run, stored as a clean run: incremental runs start from it.
    const fullRun = await repository.createScheduledRun({ fixBalances: false });
    const full = await timed(() => service.reconcile({ fixBalances: false, scope: 'full' }));
    await repository.completeRun(fullRun.id, full.outcome);

    const activitySql = postgres(url, { max: 1, onnotice: () => undefined, connection: { statement_timeout: 0 } });
    const everyMs = config.reconciliation.everyMs;
    const periodMs = config.reconciliation.sweepPeriodMs;
    const startedAt = Date.now();
    // Each run stored as the scheduler stores it: the next one reads the changes since.
    const incrementalRun = async (now: Date) => {
      const row = await repository.createScheduledRun({ fixBalances: false });
      const result = await timed(() => service.reconcile({ fixBalances: false, scope: 'incremental', now }));
      await repository.completeRun(row.id, result.outcome);
      return result;
    };
    await addActivity(activitySql, NEW_PURCHASES);
    const opening = await incrementalRun(new Date(startedAt + everyMs));
    await addActivity(activitySql, NEW_PURCHASES);
    // The next scheduled run: its slice of the sweep is everyMs / periodMs.
    const incremental = await incrementalRun(new Date(startedAt + 2 * everyMs));
    await activitySql.end();
    // The run at the end of the cycle: the rest of the sweep, and the all-time totals.
    const completing = await timed(() =>
      service.reconcile({ fixBalances: false, scope: 'incremental', now: new Date(startedAt + everyMs + periodMs) }),
    );
    await database.close();

    console.log(
      JSON.stringify({
        ledgerEntries: Number(count!.n),
        ...filled,
        fillSeconds,
        reconcileSeconds: full.seconds,
        rssBeforeMiB,
        rssPeakMiB: full.rssPeakMiB,
        driftCount: full.outcome.driftCount,
        checked: full.outcome.checked,
        openingIncremental: {
          newPurchases: NEW_PURCHASES,
          seconds: opening.seconds,
          driftCount: opening.outcome.driftCount,
          checked: opening.outcome.checked,
        },
        incremental: {
          newPurchases: NEW_PURCHASES,
          everyMs,
          sweepPeriodMs: periodMs,
          seconds: incremental.seconds,
          fractionOfFull: Number((incremental.seconds / full.seconds).toFixed(3)),
          driftCount: incremental.outcome.driftCount,
          checked: incremental.outcome.checked,
        },
        sweepCompletingRun: {
          seconds: completing.seconds,
          driftCount: completing.outcome.driftCount,
          driftsByCheck: completing.outcome.driftsByCheck,
          checked: completing.outcome.checked,
        },
      }),
    );
  } finally {
    if (!KEEP_DATABASE) await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    else console.log(`kept database ${name}`);
    await admin.end();
  }
}

async function main(): Promise<void> {
  const sizes = process.argv.slice(2).map(Number);
  if (sizes.length === 0 || sizes.some((size) => !Number.isSafeInteger(size) || size < 100)) {
    throw new Error('usage: bench-reconcile <ledger entries> [<ledger entries> ...] (each at least 100)');
  }
  for (const size of sizes) await benchOne(size);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
