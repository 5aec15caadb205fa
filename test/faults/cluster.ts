import { ChildProcess, execFile, spawn } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { createServer } from 'node:net';

const run = promisify(execFile);

/** Every wait in this suite is bounded; a server that does not come up fails the run. */
const START_TIMEOUT_MS = 60_000;


export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = START_TIMEOUT_MS): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await sleep(200);
  }
  throw new Error(`${what} not reached within ${timeoutMs} ms`);
}

export const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Linux hands out local ports for outgoing connections from 32768 up (ip_local_port_range). */
const EPHEMERAL_PORTS_FROM = 32_768;
const STABLE_PORTS_FROM = 20_000;
/** Ports already handed out: one may be asked for before the previous one is listened on. */
const handedOut = new Set<number>();

/**
 * A free loopback port below the kernel's ephemeral range, for a server this suite stops and
 * starts again on the same port. In the ephemeral range, a client retrying while the server is
 * down may be given that very port for its own connection (or connect to itself), and the
 * restart then fails with EADDRINUSE. Scans from a place that depends on the process id, so
 * that runs side by side start apart; a port in use, or handed out already, is skipped.
 */
export async function stablePort(): Promise<number> {
  const span = EPHEMERAL_PORTS_FROM - STABLE_PORTS_FROM;
  const start = (process.pid * 97) % span;
  for (let step = 0; step < 500; step++) {
    const port = STABLE_PORTS_FROM + ((start + step * 7) % span);
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
  throw new Error(`no free port between ${STABLE_PORTS_FROM} and ${EPHEMERAL_PORTS_FROM}`);
}

/** A PostgreSQL cluster of this suite's own, in a temporary directory, on a free port. */
export class PrivatePostgres {
  private constructor(
    readonly dir: string,
    readonly port: number,
    private readonly binDir: string,
  ) {}

  get url(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/wallet`;
  }

  get adminUrl(): string {
    return `postgres://postgres@127.0.0.1:${this.port}/postgres`;
  }

  static async start(): Promise<PrivatePostgres> {
    const { stdout } = await run('bash', ['-c', 'ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1']);
    const binDir = stdout.trim();
    if (!binDir) throw new Error('no PostgreSQL server binaries under /usr/lib/postgresql');
    const dir = mkdtempSync(join(tmpdir(), 'wallet-faults-pg-'));
    const postgres = new PrivatePostgres(dir, await stablePort(), binDir);
    if (isRoot()) {
      // PostgreSQL refuses to run as root: the cluster belongs to the postgres OS user.
      const { stdout: ids } = await run('id', ['-u', 'postgres']);
      const { stdout: gids } = await run('id', ['-g', 'postgres']);
      chownSync(dir, Number(ids.trim()), Number(gids.trim()));
    }
    await postgres.ctl(['initdb', '-D', join(dir, 'data'), '-A', 'trust', '-U', 'postgres', '--no-sync'], 'initdb');
    await postgres.pgCtl('start');
    return postgres;
  }

  async restart(): Promise<void> {
    await this.pgCtl('restart');
  }

  async stop(): Promise<void> {
    await this.ctl(['pg_ctl', '-D', join(this.dir, 'data'), '-m', 'immediate', '-w', 'stop'], 'pg_ctl').catch(() => undefined);
    rmSync(this.dir, { recursive: true, force: true });
  }

  private async pgCtl(action: 'start' | 'restart'): Promise<void> {
    const options = `-p ${this.port} -k ${this.dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=100`;
    await this.ctl(
      ['pg_ctl', '-D', join(this.dir, 'data'), '-o', options, '-l', join(this.dir, 'log'), '-m', 'fast', '-w', '-t', '30', action],
      'pg_ctl',
    );
  }

  private async ctl(args: string[], name: string): Promise<void> {
    const [binary, ...rest] = args;
    const path = join(this.binDir, binary!);
    const command = isRoot() ? ['runuser', ['-u', 'postgres', '--', path, ...rest]] : [path, rest];
    try {
      await run(command[0] as string, command[1] as string[], { cwd: this.dir, timeout: START_TIMEOUT_MS });
    } catch (error) {
      throw new Error(`${name} failed: ${(error as Error).message}`);
    }
  }
}

/** A redis-server of this suite's own, without persistence, on a fixed free port. */
export class PrivateRedis {
  private process: ChildProcess | undefined;

  private constructor(readonly port: number) {}

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  static async start(): Promise<PrivateRedis> {
    const redis = new PrivateRedis(await stablePort());
    await redis.resume();
    return redis;
  }

  async resume(): Promise<void> {
    this.process = spawn(
      'redis-server',
      ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no'],
      { stdio: 'ignore' },
    );
    await waitFor('private redis', async () => {
      const { stdout } = await run('redis-cli', ['-p', String(this.port), 'ping'], { timeout: 2_000 });
      return stdout.trim() === 'PONG';
    });
  }

  /** Stopped hard, as a crash would: no chance to flush anything. */
  async kill(): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null) return;
    await new Promise<void>((done) => {
      child.once('exit', () => done());
      child.kill('SIGKILL');
    });
  }
}

export interface LogLine {
  level?: number;
  msg?: string;
  req?: { id?: string };
  [key: string]: unknown;
}

/** One process of the service, built (`dist/main.js`), so that SIGKILL is a real crash. */
export class ServiceProcess {
  private process: ChildProcess | undefined;
  readonly logs: LogLine[] = [];
  readonly rawOutput: string[] = [];

  constructor(
    readonly name: string,
    readonly role: 'api' | 'worker',
    readonly port: number,
    private readonly env: Record<string, string>,
  ) {}

  get baseUrl(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** How the process ended ("exited with code 1", "killed by SIGKILL"), or undefined while it runs. */
  get exitStatus(): string | undefined {
    const child = this.process;
    if (!child || (child.exitCode === null && child.signalCode === null)) return undefined;
    return child.signalCode !== null ? `was killed by ${child.signalCode}` : `exited with code ${child.exitCode}`;
  }

  async start(): Promise<void> {
    const child = spawn(process.execPath, [resolve(__dirname, '../../dist/main.js')], {
      env: { PATH: process.env.PATH ?? '', ...this.env, APP_ROLE: this.role, PORT: String(this.port), HOST: '127.0.0.1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.process = child;
    let pending = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      pending += chunk.toString('utf8');
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) this.collect(line);
    });
    child.stderr!.on('data', (chunk: Buffer) => this.rawOutput.push(chunk.toString('utf8')));
    const startedAt = this.logs.length;
    try {
      if (this.role === 'api') {
        await waitFor(`${this.name} ready`, async () => (await fetch(`${this.baseUrl}/health/ready`, { signal: AbortSignal.timeout(2_000) })).status === 200);
      } else {
        await waitFor(`${this.name} started`, async () =>
          this.logs.slice(startedAt).some((line) => String(line.msg ?? '').startsWith('started role=worker')),
        );
      }
    } catch (error) {
      // Say why: a process that exited, or what it last warned about.
      const warnings = this.logs.slice(startedAt).filter((line) => (line.level ?? 0) >= 40).slice(-3);
      throw new Error(
        `${(error as Error).message}; ${this.name} ${this.exitStatus ?? 'still runs'}; last warnings: ${JSON.stringify(warnings).slice(0, 1_500)}; ` +
          `last stderr: ${this.rawOutput.slice(-3).join(' ').slice(-1_000)}`,
      );
    }
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.process;
    if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
    return new Promise((done) => {
      child.once('exit', () => done());
      child.kill(signal);
    });
  }

  private collect(line: string): void {
    if (line.trim() === '') return;
    try {
      this.logs.push(JSON.parse(line) as LogLine);
    } catch {
      this.rawOutput.push(line);
    }
  }
}

function isRoot(): boolean {
  return typeof process.getuid === 'function' && process.getuid() === 0;
}
