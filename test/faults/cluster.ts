import { ChildProcess, execFile, spawn } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../setup/net';

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
    const postgres = new PrivatePostgres(dir, await freePort(), binDir);
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
    const redis = new PrivateRedis(await freePort());
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
    if (this.role === 'api') {
      await waitFor(`${this.name} ready`, async () => (await fetch(`${this.baseUrl}/health/ready`, { signal: AbortSignal.timeout(2_000) })).status === 200);
    } else {
      await waitFor(`${this.name} started`, async () => this.logs.some((line) => String(line.msg ?? '').startsWith('started role=worker')));
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
