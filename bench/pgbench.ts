import { execFile } from 'node:child_process';
import * as path from 'node:path';
import type { Sql } from 'postgres';
import { cpuSeconds } from './service';
import type { Party } from './workloads';

const SCRIPT = path.join(__dirname, 'pgbench', 'purchase.sql');
const BATCH_SCRIPT = path.join(__dirname, 'pgbench', 'purchase-batch.sql');
const PGBENCH = process.env.BENCH_PGBENCH ?? 'pgbench';

export interface PgbenchResult {
  tps: number;
  /** Purchases per second: tps times the purchases per transaction. */
  purchasesPerSecond: number;
  transactions: number;
  failed: number;
  latencyAvgMs: number;
  /** CPU seconds the database backends of the run spent, per second of the run. */
  backendCpu: number;
  output: string;
}

/**
 * Numbered mapping tables for the pgbench script, filled with the wallets the HTTP workloads
 * used (already funded through the API), so both sides buy between the same wallets.
 */
export async function preparePgbench(sql: Sql, buyers: readonly Party[], authors: readonly Party[]): Promise<void> {
  await sql`CREATE TABLE bench_buyers (n int PRIMARY KEY, id uuid NOT NULL, user_id uuid NOT NULL)`;
  await sql`CREATE TABLE bench_authors (n int PRIMARY KEY, id uuid NOT NULL)`;
  const buyerRows = buyers.map((buyer, index) => ({ n: index + 1, id: buyer.walletId, user_id: buyer.userId }));
  const authorRows = authors.map((author, index) => ({ n: index + 1, id: author.walletId }));
  await sql`INSERT INTO bench_buyers ${sql(buyerRows)}`;
  await sql`INSERT INTO bench_authors ${sql(authorRows)}`;
  await sql`ANALYZE bench_buyers`;
  await sql`ANALYZE bench_authors`;
}

export async function hasBatchFunction(sql: Sql): Promise<boolean> {
  const [row] = await sql<{ present: boolean }[]>`SELECT to_regproc('purchase_execute_batch') IS NOT NULL AS present`;
  return row!.present;
}

export async function backendPids(sql: Sql, databaseName: string): Promise<number[]> {
  const rows = await sql<{ pid: number }[]>`
    SELECT pid FROM pg_stat_activity WHERE datname = ${databaseName} AND pid <> pg_backend_pid()`;
  return rows.map((row) => row.pid);
}

/**
 * Runs pgbench with the purchase script against the bench database. `authors` = 1 is the
 * hot-author variant.
 */
export async function runPgbench(options: {
  databaseUrl: string;
  databaseName: string;
  sql: Sql;
  clients: number;
  seconds: number;
  buyers: number;
  authors: number;
  platformWalletId: string;
  /** Purchases per transaction through purchase_execute_batch; absent: a batch of one each. */
  batch?: number;
}): Promise<PgbenchResult> {
  const url = new URL(options.databaseUrl);
  const args = [
    '-n',
    '-c', String(options.clients),
    '-j', '2',
    '-T', String(options.seconds),
    '-M', 'prepared',
    '-f', options.batch === undefined ? SCRIPT : BATCH_SCRIPT,
    ...(options.batch === undefined ? [] : ['-D', `batch=${options.batch}`]),
    '-D', `buyers=${options.buyers}`,
    '-D', `authors=${options.authors}`,
    '-D', `platform=${options.platformWalletId}`,
    '-h', url.hostname,
    '-p', url.port || '5432',
    '-U', decodeURIComponent(url.username) || 'postgres',
    options.databaseName,
  ];
  const env = { ...process.env, ...(url.password ? { PGPASSWORD: decodeURIComponent(url.password) } : {}) };
  const cpuBefore = new Map<number, number>();
  let cpuAfter = new Map<number, number>();
  const sampleBackends = async () => {
    const pids = await backendPids(options.sql, options.databaseName);
    return new Map(pids.map((pid) => [pid, cpuSeconds(pid)]));
  };
  const running = new Promise<string>((resolve, reject) => {
    execFile(PGBENCH, args, { env, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(new Error(`pgbench failed: ${error.message}\n${stderr}`));
      else resolve(`${stdout}${stderr}`);
    });
  });
  // Awaited below, after the CPU sampling: a failure before then must not count as unhandled
  // (that would end the bench without stopping the service or dropping its database).
  running.catch(() => undefined);
  // Backends are connected about a second in; sample their CPU then and shortly before the end.
  await new Promise((resolve) => setTimeout(resolve, 1_000));
  for (const [pid, cpu] of await sampleBackends()) cpuBefore.set(pid, cpu);
  const sampledFrom = performance.now();
  let sampledTo = sampledFrom;
  const lateSample = setTimeout(
    () =>
      void sampleBackends().then((sample) => {
        cpuAfter = sample;
        sampledTo = performance.now();
      }),
    Math.max(0, options.seconds * 1_000 - 1_500),
  );
  const output = await running;
  clearTimeout(lateSample);
  let backendCpuSeconds = 0;
  for (const [pid, cpu] of cpuAfter) backendCpuSeconds += cpu - (cpuBefore.get(pid) ?? cpu);
  const sampledSeconds = (sampledTo - sampledFrom) / 1_000;

  const number = (pattern: RegExp) => {
    const match = pattern.exec(output);
    return match ? Number(match[1]) : Number.NaN;
  };
  const tps = number(/^tps = ([\d.]+)/m);
  return {
    tps,
    purchasesPerSecond: tps * (options.batch ?? 1),
    transactions: number(/number of transactions actually processed: (\d+)/),
    failed: number(/number of failed transactions: (\d+)/) || 0,
    latencyAvgMs: number(/latency average = ([\d.]+) ms/),
    backendCpu: sampledSeconds > 0 ? backendCpuSeconds / sampledSeconds : Number.NaN,
    output,
  };
}
