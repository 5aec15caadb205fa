import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import postgres from 'postgres';
import { ServiceProcess } from '../faults/cluster';
import { Client, MoneyLoad } from './money-load';
import { PostgresNode, removeDirectory, serverDirectory, sleep, topologyPort } from './postgres-nodes';
import { deleteDrillKeys, drillKeyPrefix, SHARED_REDIS_URL } from './redis-nodes';

/**
 * Reads from a replica (ADR 0053): a private primary and an asynchronous streaming standby,
 * the service with DATABASE_READ_URL on the standby and READ_REPLICA_MAX_LAG_MS = 1000, under the
 * money load plus readers of ledger pages and purchase search. Measured and printed: the
 * standby's replay lag under that load, and the primary's CPU per read with reads on the
 * replica against reads on the primary (replay paused, so the service falls back). Checked:
 * the replica did serve reads; with replay paused, a page read more than the lag bound after
 * a commit shows it (served by the primary); the money load's books are exact.
 */

const PLATFORM_USER_ID = '00000000-0000-4000-8000-00000000beef';
const MAX_LAG_MS = 1_000;
const PHASE_MS = 6_000;
const READERS = 4;
/** Linux clock ticks per second (/proc/<pid>/stat times). */
const TICKS_PER_SECOND = 100;

/** CPU seconds used so far by a PostgreSQL server: the postmaster, its reaped children, the live ones. */
function serverCpuSeconds(dataDir: string): number {
  const postmaster = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  let ticks = 0;
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Fields after the command name (which may hold spaces): state is field 3, ppid 4, utime 14 ...
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const pid = Number(entry);
    const ppid = Number(fields[1]);
    const [utime, stime, cutime, cstime] = [11, 12, 13, 14].map((index) => Number(fields[index]));
    if (pid === postmaster) ticks += utime! + stime! + cutime! + cstime!;
    else if (ppid === postmaster) ticks += utime! + stime!;
  }
  return ticks / TICKS_PER_SECOND;
}

describe('reads from a replica', () => {
  let root: string;
  let primary: PostgresNode;
  let standby: PostgresNode;
  let api: ServiceProcess;
  /** The same service without DATABASE_READ_URL: the comparison for the primary's CPU. */
  let primaryOnly: ServiceProcess;
  let readTarget: () => ServiceProcess = () => api;
  const load = new MoneyLoad(() => api.baseUrl, 3);
  const keyPrefix = drillKeyPrefix();
  let reading = false;
  let reads = 0;
  const readFailures: string[] = [];

  beforeAll(async () => {
    root = await serverDirectory('wallet-topology-replica-');
    primary = await PostgresNode.initPrimary(root, 'primary');
    standby = await PostgresNode.cloneFrom(primary, 'replica');
    const env = {
      DATABASE_URL: primary.url,
      DATABASE_POOL_MAX: '8',
      REDIS_URL: SHARED_REDIS_URL,
      REDIS_KEY_PREFIX: keyPrefix,
      PLATFORM_ACCOUNT_ID: PLATFORM_USER_ID,
      LOG_LEVEL: 'info',
      NODE_ENV: 'test',
      SHUTDOWN_TIMEOUT_MS: '5000',
    };
    api = new ServiceProcess('api', 'api', await topologyPort(), { ...env, DATABASE_READ_URL: standby.url, READ_REPLICA_MAX_LAG_MS: String(MAX_LAG_MS) });
    primaryOnly = new ServiceProcess('api-primary-only', 'api', await topologyPort(), env);
    for (const service of [api, primaryOnly]) {
      await service.start().catch((error: Error) => {
        throw new Error(`${error.message}; the service said: ${service.rawOutput.join('\n').slice(-3_000)}`);
      });
    }
  }, 180_000);

  afterAll(async () => {
    reading = false;
    await load.stop().catch(() => undefined);
    await api?.kill('SIGKILL');
    await primaryOnly?.kill('SIGKILL');
    await primary?.stop();
    await standby?.stop();
    await deleteDrillKeys(keyPrefix);
    removeDirectory(root);
  });

  async function read(path: string, client: Client): Promise<any> {
    const response = await fetch(`${readTarget().baseUrl}${path}`, { headers: { 'x-user-id': client.userId }, signal: AbortSignal.timeout(10_000) });
    const body = await response.json();
    if (response.status !== 200) readFailures.push(`${path}: ${response.status} ${JSON.stringify(body).slice(0, 200)}`);
    else reads += 1;
    return body;
  }

  function startReaders(): Promise<unknown> {
    reading = true;
    return Promise.all(
      Array.from({ length: READERS }, async (_, index) => {
        while (reading) {
          const client = load.clients[index % load.clients.length]!;
          await read(`/wallets/${client.walletId}/ledger?limit=50`, client).catch((error: Error) => readFailures.push(error.message));
          await read(`/purchases?buyerWalletId=${client.walletId}&limit=50`, client).catch((error: Error) => readFailures.push(error.message));
        }
      }),
    );
  }

  async function standbyTransactions(): Promise<number> {
    return standby.withAdmin(async (sql) => {
      const [row] = await sql<{ n: string }[]>`SELECT xact_commit::text AS n FROM pg_stat_database WHERE datname = 'wallet'`;
      return Number(row!.n);
    });
  }

  /** Reads and primary CPU seconds over one phase, with the replay lag sampled on the primary. */
  async function measurePhase(): Promise<{ reads: number; cpuSeconds: number; lagsMs: number[]; standbyTransactions: number }> {
    const readsBefore = reads;
    const cpuBefore = serverCpuSeconds(primary.dataDir);
    const transactionsBefore = await standbyTransactions();
    const lagsMs: number[] = [];
    const sql = postgres(primary.adminUrl, { max: 1, onnotice: () => undefined });
    try {
      const until = Date.now() + PHASE_MS;
      while (Date.now() < until) {
        const [row] = await sql<{ lag: number | null }[]>`
          SELECT (extract(epoch FROM replay_lag) * 1000)::float8 AS lag FROM pg_stat_replication WHERE application_name = 'replica'`;
        lagsMs.push(row?.lag ?? 0);
        await sleep(100);
      }
    } finally {
      await sql.end({ timeout: 2 });
    }
    await sleep(1_100); // statistics reach pg_stat_database within a second
    return {
      reads: reads - readsBefore,
      cpuSeconds: serverCpuSeconds(primary.dataDir) - cpuBefore,
      lagsMs,
      standbyTransactions: (await standbyTransactions()) - transactionsBefore,
    };
  }

  const percentile = (values: number[], share: number) => {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(share * sorted.length))] ?? 0;
  };

  it('serves stale-tolerant reads from the replica while it keeps up, from the primary beyond the bound, and keeps the books exact', async () => {
    await load.start();
    await sleep(1_000);
    let readers = startReaders();

    // Under the money load, replay running: ledger pages and search come from the replica.
    const underLoad = await measurePhase();

    // Replay paused while money keeps moving: the replica falls behind past the bound, and a page
    // read after the bound shows what the primary had (it is served by the primary).
    await standby.withAdmin((sql) => sql`SELECT pg_wal_replay_pause()`);
    await sleep(MAX_LAG_MS + 500);
    const paused = await measurePhase();
    const client = load.clients[0]!;
    const newest = await primary.withAdmin(
      async (sql) => (await sql<{ id: string }[]>`SELECT max(id)::text AS id FROM ledger_entries WHERE wallet_id = ${client.walletId}::uuid`)[0]!.id,
      'wallet',
    );
    await sleep(MAX_LAG_MS + 600);
    const page = await read(`/wallets/${client.walletId}/ledger?limit=1`, client);
    expect(BigInt(page.items[0].id)).toBeGreaterThanOrEqual(BigInt(newest));
    await standby.withAdmin((sql) => sql`SELECT pg_wal_replay_resume()`);
    await load.stop();

    // Reads alone, the same readers: through the service with the replica, then through one without.
    await sleep(MAX_LAG_MS);
    const withReplica = await measurePhase();
    reading = false;
    await readers;
    readTarget = () => primaryOnly;
    readers = startReaders();
    const withoutReplica = await measurePhase();
    reading = false;
    await readers;

    const perRead = (phase: { reads: number; cpuSeconds: number }) => (phase.cpuSeconds * 1_000_000) / Math.max(1, phase.reads);
    const savedShare = 1 - perRead(withReplica) / perRead(withoutReplica);
    process.stdout.write(
      `Read replica: replay lag under the money load p50 ${percentile(underLoad.lagsMs, 0.5).toFixed(1)} ms, p99 ${percentile(underLoad.lagsMs, 0.99).toFixed(1)} ms, ` +
        `max ${Math.max(...underLoad.lagsMs).toFixed(1)} ms (${underLoad.reads} reads, ${underLoad.standbyTransactions} standby transactions); ` +
        `replay paused: ${paused.standbyTransactions} standby transactions for ${paused.reads} reads (fallback to the primary); ` +
        `reads alone: primary CPU ${perRead(withReplica).toFixed(0)} µs per read with the replica (${withReplica.reads} reads, ${withReplica.cpuSeconds.toFixed(2)} s), ` +
        `${perRead(withoutReplica).toFixed(0)} µs without (${withoutReplica.reads} reads, ${withoutReplica.cpuSeconds.toFixed(2)} s): ` +
        `${(savedShare * 100).toFixed(0)}% of the primary's CPU per read saved\n`,
    );
    expect(readFailures).toEqual([]);
    // The replica served the reads while it kept up, and (almost) none while it was behind. Its
    // committed transactions come to about half the reads counted even when it keeps up (663 for
    // 1,299 reads at a p99 lag of 2.3 ms; 985 for 2,014 once in CI, which failed a bound of half),
    // so the bound is a quarter: well above the paused phase's, which the next line checks.
    expect(underLoad.standbyTransactions).toBeGreaterThan(underLoad.reads / 4);
    expect(paused.standbyTransactions).toBeLessThan(underLoad.standbyTransactions / 4);
    const sql = postgres(primary.url, { max: 2, onnotice: () => undefined });
    try {
      await load.verify(sql);
    } finally {
      await sql.end({ timeout: 5 });
    }
  });
});
