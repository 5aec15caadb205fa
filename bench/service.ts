import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import Redis from 'ioredis';
import postgres from 'postgres';
import { freePort } from '../test/setup/net';
import { GcTrace } from './gc-trace';

export const ROOT = path.resolve(__dirname, '..');
/** The bench talks to the same PostgreSQL and Redis as the tests unless told otherwise. */
export const POSTGRES_URL = process.env.BENCH_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379';
export const PLATFORM_ACCOUNT_ID = '00000000-0000-4000-8000-000000000001';
const READY_TIMEOUT_MS = 60_000;

export function databaseUrl(name: string): string {
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

function newestMtimeMs(dir: string): number {
  let newest = 0;
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    const mtime = entry.isDirectory() ? newestMtimeMs(full) : fs.statSync(full).mtimeMs;
    if (mtime > newest) newest = mtime;
  }
  return newest;
}

/** Builds dist/ when any source file is newer than the built entry point. */
export function buildIfStale(log: (line: string) => void): void {
  const entry = path.join(ROOT, 'dist', 'main.js');
  const builtAt = fs.existsSync(entry) ? fs.statSync(entry).mtimeMs : 0;
  if (builtAt >= newestMtimeMs(path.join(ROOT, 'src'))) return;
  log('dist/ is older than src/: npm run build');
  execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: 'inherit' });
}

/** Pids of a process and all its descendants (node:cluster workers, if the service forks). */
export function processTree(rootPid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The command name may contain spaces and parentheses: fields start after the last ')'.
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      const list = children.get(ppid) ?? [];
      list.push(Number(entry));
      children.set(ppid, list);
    } catch {
      // The process ended while we looked.
    }
  }
  const tree: number[] = [];
  const queue = [rootPid];
  while (queue.length > 0) {
    const pid = queue.shift()!;
    tree.push(pid);
    queue.push(...(children.get(pid) ?? []));
  }
  return tree;
}

function statusKib(pid: number, field: 'VmRSS' | 'VmHWM'): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : 0;
  } catch {
    return 0;
  }
}

/** CPU time (user + system) of a process in seconds. */
export function cpuSeconds(pid: number): number {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // utime and stime are fields 14 and 15 of stat, i.e. 11 and 12 after the command name.
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS;
  } catch {
    return 0;
  }
}

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
  } catch {
    return 100;
  }
})();

/**
 * Polls the resident set of every process in the service's tree. `peak()` gives the largest
 * RSS each pid reached since the last `reset()`; the kernel's VmHWM gives the lifetime peak.
 */
export class RssSampler {
  private readonly peaks = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly rootPid: number) {}

  start(intervalMs = 100): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  reset(): void {
    this.peaks.clear();
  }

  sample(): void {
    for (const pid of processTree(this.rootPid)) {
      const kib = statusKib(pid, 'VmRSS');
      if (kib > (this.peaks.get(pid) ?? 0)) this.peaks.set(pid, kib);
    }
  }

  /** Peak RSS per pid, in MiB, since the last reset. */
  peak(): Map<number, number> {
    this.sample();
    return new Map([...this.peaks].map(([pid, kib]) => [pid, kib / 1024]));
  }

  /** Lifetime high-water mark per pid, in MiB. */
  highWaterMark(): Map<number, number> {
    return new Map(processTree(this.rootPid).map((pid) => [pid, statusKib(pid, 'VmHWM') / 1024]));
  }
}

export interface RunningService {
  port: number;
  pid: number;
  /** Allocation figures when the service runs with --trace-gc (BENCH_TRACE_GC=1). */
  gcTrace?: GcTrace;
  databaseName: string;
  databaseUrl: string;
  redisKeyPrefix: string;
  /** Ends the process (its connections with it) and keeps the database for pgbench. */
  stopProcess(): Promise<void>;
  stop(): Promise<void>;
}

/** HTTP processes the service runs with: the production shape on this machine, one per core. */
export const HTTP_WORKERS = Number(process.env.HTTP_WORKERS ?? '2');

/**
 * Starts `node dist/main.js` on a free port with a database of its own (the service creates and
 * migrates it on start) and a Redis key prefix of its own, and waits for /health/ready.
 * `stop()` ends the process and drops the database; it is safe to call more than once.
 */
export async function startService(
  log: (line: string) => void,
  nodeArgs: readonly string[] = [],
): Promise<RunningService> {
  // BENCH_PORT pins the port (say, to keep clear of other servers on a shared machine); it must
  // be free, or the readiness check below would find whatever already listens there.
  const port = process.env.BENCH_PORT ? await pinnedFreePort(Number(process.env.BENCH_PORT)) : await freePort();
  const databaseName = `wallet_bench_${randomBytes(5).toString('hex')}`;
  const redisKeyPrefix = `bench:${randomBytes(5).toString('hex')}:`;
  const url = databaseUrl(databaseName);
  const stderr: string[] = [];
  const child: ChildProcess = spawn(process.execPath, [...nodeArgs, path.join(ROOT, 'dist', 'main.js')], {
    cwd: ROOT,
    env: {
      ...process.env,
      NODE_ENV: 'development',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: url,
      REDIS_URL,
      REDIS_KEY_PREFIX: redisKeyPrefix,
      PLATFORM_ACCOUNT_ID,
      LOG_LEVEL: 'warn',
      SWAGGER_ENABLED: 'false',
      HTTP_WORKERS: String(HTTP_WORKERS),
      // The purchases-webhook workload's receiver listens on 127.0.0.1.
      WEBHOOK_ALLOW_PRIVATE_NETWORKS: 'true',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const gcTrace = nodeArgs.includes('--trace-gc') ? new GcTrace() : undefined;
  child.stdout!.on('data', (chunk: Buffer) => {
    const text = gcTrace ? gcTrace.feed(chunk.toString()) : chunk.toString();
    if (text !== '') process.stdout.write(`[service] ${text}`);
  });
  child.stderr!.on('data', (chunk: Buffer) => {
    stderr.push(chunk.toString());
    process.stderr.write(`[service] ${chunk.toString()}`);
  });
  let exited = false;
  const exitedPromise = new Promise<void>((resolve) => child.once('exit', () => ((exited = true), resolve())));

  const stopProcess = async () => {
    if (exited) return;
    child.kill('SIGTERM');
    const timeout = new Promise<void>((resolve) => setTimeout(resolve, 15_000).unref());
    await Promise.race([exitedPromise, timeout]);
    if (!exited) {
      child.kill('SIGKILL');
      await exitedPromise;
    }
  };
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    await stopProcess();
    await dropDatabase(databaseName);
    const removedKeys = await deleteRedisKeys(redisKeyPrefix);
    log(`service stopped, database ${databaseName} dropped, ${removedKeys} Redis keys under ${redisKeyPrefix} deleted`);
  };

  const deadline = Date.now() + READY_TIMEOUT_MS;
  try {
    for (;;) {
      if (exited) throw new Error(`the service exited during start-up:\n${stderr.join('')}`);
      if (Date.now() > deadline) throw new Error(`the service was not ready within ${READY_TIMEOUT_MS} ms`);
      try {
        const response = await fetch(`http://127.0.0.1:${port}/health/ready`);
        if (response.ok) break;
      } catch {
        // Not listening yet.
      }
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  } catch (error) {
    await stop();
    throw error;
  }
  return { port, pid: child.pid!, gcTrace, databaseName, databaseUrl: url, redisKeyPrefix, stopProcess, stop };
}

/** `port` when nothing listens on it; otherwise an error naming it. */
async function pinnedFreePort(port: number): Promise<number> {
  const taken = await new Promise<boolean>((resolve) => {
    const probe = net.connect({ port, host: '127.0.0.1' });
    probe.once('connect', () => {
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => resolve(false));
  });
  if (taken) throw new Error(`BENCH_PORT ${port} is already in use`);
  return port;
}

async function dropDatabase(name: string): Promise<void> {
  const admin = postgres(POSTGRES_URL, { max: 1, onnotice: () => undefined });
  try {
    await admin.unsafe(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  } finally {
    await admin.end({ timeout: 5 });
  }
}

/** The idempotency results (24 h TTL) and queue keys the run left behind. */
async function deleteRedisKeys(prefix: string): Promise<number> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1 });
  let removed = 0;
  try {
    await redis.connect();
    let cursor = '0';
    do {
      const [nextCursor, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = nextCursor;
      if (keys.length > 0) removed += await redis.unlink(...keys);
    } while (cursor !== '0');
  } catch {
    // Leftover keys expire on their own; never fail a run over them.
  } finally {
    redis.disconnect();
  }
  return removed;
}
