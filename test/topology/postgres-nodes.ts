import { execFile } from 'node:child_process';
import { appendFileSync, chownSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import postgres, { Sql } from 'postgres';

const run = promisify(execFile);

/** PostgreSQL 15, as the measurements; the newest installed major if 15 is absent. */
const BIN_DIR_CANDIDATES = ['/usr/lib/postgresql/15/bin'];
/** Every external command of this suite is bounded. */
const COMMAND_TIMEOUT_MS = 90_000;
/** This suite's port range for PostgreSQL topology servers (below the ephemeral range). */
const PORTS_FROM = 21_000;
const PORTS_TO = 22_999;
const handedOut = new Set<number>();

export const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(200);
  }
  throw new Error(`${what} not reached within ${timeoutMs} ms`);
}

/** A free loopback port in 21000-22999, scanned from a place that depends on the process id. */
export async function topologyPort(): Promise<number> {
  const span = PORTS_TO - PORTS_FROM + 1;
  const start = (process.pid * 131) % span;
  for (let step = 0; step < span; step++) {
    const port = PORTS_FROM + ((start + step * 7) % span);
    if (handedOut.has(port)) continue;
    const free = await new Promise<boolean>((done) => {
      const probe = createServer();
      probe.once('error', () => done(false));
      probe.listen(port, '127.0.0.1', () => probe.close(() => done(true)));
    });
    if (free) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port between ${PORTS_FROM} and ${PORTS_TO}`);
}

export function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}

export async function postgresIds(): Promise<{ uid: number; gid: number }> {
  const { stdout: uid } = await run('id', ['-u', 'postgres']);
  const { stdout: gid } = await run('id', ['-g', 'postgres']);
  return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
}

/** A temporary directory the PostgreSQL servers (and Patroni) may write: the postgres OS user's when run as root. */
export async function serverDirectory(prefix: string): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  await ownByPostgres(dir);
  return dir;
}

/** A folder inside a server directory, writable by the servers in the same way. */
export async function serverSubdirectory(path: string): Promise<string> {
  mkdirSync(path, { recursive: true });
  await ownByPostgres(path);
  return path;
}

async function ownByPostgres(dir: string): Promise<void> {
  if (!isRoot()) return;
  const { uid, gid } = await postgresIds();
  chownSync(dir, uid, gid);
}

/** Runs a command as the postgres OS user when this process is root (PostgreSQL refuses root). */
export async function runAsPostgres(binary: string, args: string[], cwd: string, timeoutMs = COMMAND_TIMEOUT_MS): Promise<string> {
  const [command, commandArgs] = isRoot() ? ['runuser', ['-u', 'postgres', '--', binary, ...args]] : [binary, args];
  try {
    const { stdout } = await run(command, commandArgs, { cwd, timeout: timeoutMs });
    return stdout;
  } catch (error) {
    const { stderr } = error as { stderr?: string };
    throw new Error(`${binary.split('/').pop()} ${args.join(' ')} failed: ${(error as Error).message} ${stderr ?? ''}`);
  }
}

export async function postgresBinDir(): Promise<string> {
  for (const candidate of BIN_DIR_CANDIDATES) {
    try {
      await run(join(candidate, 'postgres'), ['--version']);
      return candidate;
    } catch {
      // next candidate
    }
  }
  const { stdout } = await run('bash', ['-c', 'ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1']);
  if (!stdout.trim()) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql');
  return stdout.trim();
}

/**
 * One PostgreSQL server of a primary/standby pair in a directory of its own: initdb'd as a
 * primary, or cloned from one with pg_basebackup as a streaming standby. Crashes are
 * `pg_ctl stop -m immediate` (no shutdown checkpoint, as a power loss leaves the files).
 */
export class PostgresNode {
  private constructor(
    readonly name: string,
    readonly root: string,
    readonly port: number,
    private readonly binDir: string,
  ) {}

  get dataDir(): string {
    return join(this.root, this.name);
  }

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/wallet`;
  }

  get adminUrl(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  /** The libpq connection string a standby of this node streams from. */
  get conninfo(): string {
    return `host=127.0.0.1 port=${this.port} user=postgres dbname=postgres`;
  }

  static async initPrimary(root: string, name: string): Promise<PostgresNode> {
    const node = new PostgresNode(name, root, await topologyPort(), await postgresBinDir());
    // Data checksums: pg_rewind needs them (or wal_log_hints, which its own crash recovery would not see).
    await node.bin('initdb', ['-D', node.dataDir, '-A', 'trust', '-U', 'postgres', '--no-sync', '--data-checksums']);
    // In the file, not on the command line: pg_rewind's own crash recovery must keep the WAL back
    // to the last common checkpoint too. Clones copy it, and it is the same for every node.
    appendFileSync(
      join(node.dataDir, 'postgresql.conf'),
      ["wal_keep_size = '512MB'", 'max_wal_senders = 10', 'hot_standby = on', 'max_connections = 100', ''].join('\n'),
    );
    await node.start();
    return node;
  }

  /** A streaming standby of `source`, named `name` (its application_name, for synchronous_standby_names). */
  static async cloneFrom(source: PostgresNode, name: string): Promise<PostgresNode> {
    const node = new PostgresNode(name, source.root, await topologyPort(), source.binDir);
    await node.bin('pg_basebackup', ['-d', source.conninfo, '-D', node.dataDir, '-R', '-X', 'stream', '--no-sync', '-c', 'fast']);
    node.followPrimary(source);
    await node.start();
    return node;
  }

  /**
   * Settings of this test's own, on the command line: pg_basebackup and pg_rewind copy the
   * configuration files from the other node, command-line settings stay with this one.
   */
  private get serverOptions(): string {
    return [
      `-p ${this.port}`,
      '-c listen_addresses=127.0.0.1',
      `-c unix_socket_directories=${this.root}`,
      // The files survive a process crash, and nothing here survives a machine crash anyway.
      '-c fsync=off',
      `-c cluster_name=${this.name}`,
    ].join(' ');
  }

  /** Stream from `source` as `application_name = this.name` (the last primary_conninfo wins). */
  private followPrimary(source: PostgresNode): void {
    appendFileSync(
      join(this.dataDir, 'postgresql.auto.conf'),
      `primary_conninfo = '${source.conninfo} application_name=${this.name}'\n`,
    );
  }

  async start(): Promise<void> {
    await this.bin('pg_ctl', ['-D', this.dataDir, '-o', this.serverOptions, '-l', join(this.root, `${this.name}.log`), '-w', '-t', '60', 'start']);
  }

  /** A crash: no checkpoint, connections cut. */
  async crash(): Promise<void> {
    await this.bin('pg_ctl', ['-D', this.dataDir, '-m', 'immediate', '-w', 'stop']).catch(() => undefined);
  }

  async promote(): Promise<void> {
    await this.bin('pg_ctl', ['-D', this.dataDir, '-w', '-t', '60', 'promote']);
  }

  /**
   * Turns this crashed former primary into a standby of `newPrimary` with pg_rewind (which first
   * finishes crash recovery on its own), or a new clone if that fails, then starts it. Returns
   * how long that took and which way it went.
   */
  async rejoinAsStandbyOf(newPrimary: PostgresNode): Promise<{ ms: number; how: 'pg_rewind' | 're-clone' }> {
    const startedAt = Date.now();
    // A just-promoted server's control file names its new timeline only after a checkpoint;
    // before that pg_rewind finds both on one timeline and rewinds nothing.
    await newPrimary.withAdmin((sql) => sql`CHECKPOINT`);
    let how: 'pg_rewind' | 're-clone' = 'pg_rewind';
    try {
      await this.bin('pg_rewind', ['-D', this.dataDir, '--source-server', newPrimary.conninfo, '-R', '--no-sync']);
    } catch (error) {
      // What an operator does when the rewind cannot: clone the new primary again.
      process.stdout.write(`pg_rewind failed, cloning again: ${(error as Error).message.split('\n').pop()}\n`);
      how = 're-clone';
      rmSync(this.dataDir, { recursive: true, force: true });
      await this.bin('pg_basebackup', ['-d', newPrimary.conninfo, '-D', this.dataDir, '-R', '-X', 'stream', '--no-sync', '-c', 'fast']);
    }
    this.followPrimary(newPrimary);
    await this.start();
    return { ms: Date.now() - startedAt, how };
  }

  /** Makes every standby synchronous here: a commit is acknowledged once a standby has flushed it. */
  async requireSynchronousStandby(): Promise<void> {
    await this.withAdmin(async (sql) => {
      await sql`ALTER SYSTEM SET synchronous_standby_names = '*'`;
      await sql`SELECT pg_reload_conf()`;
    });
  }

  async synchronousStandbys(): Promise<string[]> {
    return this.withAdmin(async (sql) => {
      const rows = await sql<{ application_name: string }[]>`
        SELECT application_name FROM pg_stat_replication WHERE sync_state = 'sync' AND state = 'streaming'`;
      return rows.map((row) => row.application_name);
    });
  }

  async withAdmin<T>(work: (sql: Sql) => Promise<T>, database = 'postgres'): Promise<T> {
    const sql = postgres({
      host: '127.0.0.1',
      port: this.port,
      user: 'postgres',
      database,
      max: 1,
      connect_timeout: 5,
      onnotice: () => undefined,
    });
    try {
      return await work(sql);
    } finally {
      await sql.end({ timeout: 2 });
    }
  }

  async stop(): Promise<void> {
    await this.crash();
  }

  private async bin(binary: string, args: string[]): Promise<string> {
    return runAsPostgres(join(this.binDir, binary), args, this.root);
  }
}

/** Removes a server directory, unless TOPOLOGY_KEEP_DIRS=1 keeps it (with its logs) for a look. */
export function removeDirectory(dir: string | undefined): void {
  if (!dir) return;
  if (process.env.TOPOLOGY_KEEP_DIRS === '1') {
    process.stdout.write(`kept ${dir}\n`);
    return;
  }
  rmSync(dir, { recursive: true, force: true });
}
