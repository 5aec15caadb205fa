import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import * as net from 'node:net';
import * as path from 'node:path';
import { createTestDatabase, randomPrefix, TestDatabase } from '../setup/test-database';
import { TEST_REDIS_URL } from '../setup/test-env';
import { freePort } from '../setup/net';
import { deleteKeysAt } from '../setup/redis-keys';

/**
 * The real service as operators run it: a separate Node process started from src/main.ts,
 * configured only through its environment, stopped with signals.
 */
const ROOT = path.resolve(__dirname, '..', '..');
const READY_WAIT_MS = 45_000;
const POLL_INTERVAL_MS = 100;

interface Service {
  child: ChildProcess;
  port: number;
  baseUrl: string;
  stdout(): string;
  stderr(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

function spawnService(env: Record<string, string>, port = 0): Service {
  const child = spawn(process.execPath, ['-r', '@swc-node/register', 'src/main.ts'], {
    cwd: ROOT,
    // A clean environment: only what an operator would set, nothing inherited from the test runner.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })),
  );
  return { child, port, baseUrl: `http://127.0.0.1:${port}`, stdout: () => out, stderr: () => err, exited };
}


/** Resolves true if something accepts TCP connections on the port, false on ECONNREFUSED. */
function accepts(port: number): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', (error: NodeJS.ErrnoException) =>
      error.code === 'ECONNREFUSED' ? resolve(false) : reject(error),
    );
  });
}

/** Polls `condition` until it holds; fails with `describe()` if the deadline passes first. */
async function waitFor(condition: () => Promise<boolean>, describe: () => string, deadlineMs = READY_WAIT_MS) {
  const deadline = Date.now() + deadlineMs;
  while (!(await condition().catch(() => false))) {
    if (Date.now() > deadline) throw new Error(`gave up waiting: ${describe()}`);
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
}

async function waitUntilReady(service: Service): Promise<void> {
  let exitedEarly = false;
  void service.exited.then(() => (exitedEarly = true));
  await waitFor(
    async () => {
      if (exitedEarly) throw new Error('exited');
      return (await fetch(`${service.baseUrl}/health/ready`)).status === 200;
    },
    () => `service on ${service.port} not ready; stderr: ${service.stderr().slice(-2_000)}`,
  );
  if (exitedEarly) throw new Error(`service exited during start: ${service.stderr().slice(-2_000)}`);
}

describe('the service process', () => {
  const running: Service[] = [];

  afterEach(async () => {
    // A test that failed half-way must not leave a service behind.
    for (const service of running.splice(0)) {
      if (service.child.exitCode === null && service.child.signalCode === null) {
        service.child.kill('SIGKILL');
        await service.exited;
      }
    }
  });

  describe('refuses bad configuration', () => {
    it.each([
      [{ PORT: 'abc' }, 'PORT'],
      [{ NODE_ENV: 'production' }, 'AUTH_MODE'],
      [{ AUTH_MODE: 'jwt', JWT_SECRET: 'short' }, 'JWT_SECRET'],
    ])('%j exits non-zero naming %s on stderr', async (env, variable) => {
      const service = spawnService(env);
      running.push(service);
      const { code } = await service.exited;
      expect(code).not.toBe(0);
      expect(code).not.toBeNull();
      expect(service.stderr()).toContain('Invalid configuration');
      expect(service.stderr()).toMatch(new RegExp(`^\\s+- ${variable}: `, 'm'));
      expect(service.stdout()).not.toContain('started');
    });

    it('names every bad variable in one failed start', async () => {
      const service = spawnService({ PORT: 'abc', APP_ROLE: 'x', AUTHOR_ROYALTY_PERCENT: '101' });
      running.push(service);
      expect((await service.exited).code).toBe(1);
      for (const variable of ['PORT', 'APP_ROLE', 'AUTHOR_ROYALTY_PERCENT']) expect(service.stderr()).toContain(variable);
    });
  });

  describe('running', () => {
    let db: TestDatabase;
    let keyPrefix: string;

    beforeAll(async () => {
      db = await createTestDatabase();
      keyPrefix = randomPrefix();
    });
    afterAll(async () => {
      await db.drop();
      await deleteKeysAt(TEST_REDIS_URL, keyPrefix);
    });

    const envFor = (port: number, extra: Record<string, string> = {}) => ({
      NODE_ENV: 'test',
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: db.url,
      REDIS_URL: TEST_REDIS_URL,
      REDIS_KEY_PREFIX: keyPrefix,
      LOG_LEVEL: 'info',
      SHUTDOWN_TIMEOUT_MS: '10000',
      ...extra,
    });

    it('SIGTERM lets in-flight requests finish, stops accepting, and exits 0', async () => {
      const port = await freePort();
      const service = spawnService(envFor(port), port);
      running.push(service);
      await waitUntilReady(service);

      const userId = randomUUID();
      const created = await fetch(`${service.baseUrl}/wallets`, { method: 'POST', headers: { 'x-user-id': userId } });
      expect(created.status).toBe(201);
      const walletId = ((await created.json()) as { id: string }).id;

      const funded = await fetch(`${service.baseUrl}/wallets/${walletId}/deposit`, {
        method: 'POST',
        headers: { 'x-user-id': userId, 'content-type': 'application/json' },
        body: JSON.stringify({ amount: 1_000 }),
      });
      expect(funded.status).toBe(201);

      // Hold the wallet row so that the withdrawals below are in flight, waiting inside
      // PostgreSQL (each is its own transaction; deposits and purchases would be batched).
      let release!: () => void;
      const released = new Promise<void>((resolve) => (release = resolve));
      let locked!: () => void;
      const isLocked = new Promise<void>((resolve) => (locked = resolve));
      const holder = db.sql.begin(async (tx) => {
        await tx`SELECT id FROM wallets WHERE id = ${walletId} FOR UPDATE`;
        locked();
        await released;
      });
      await isLocked;

      const withdrawalCount = 5;
      const withdrawals = Array.from({ length: withdrawalCount }, () =>
        fetch(`${service.baseUrl}/wallets/${walletId}/withdrawals`, {
          method: 'POST',
          headers: { 'x-user-id': userId, 'content-type': 'application/json', 'idempotency-key': randomUUID() },
          body: JSON.stringify({ amount: 100 }),
        }).then((response) => response.status),
      );
      const waiting = async () => {
        const [row] = await db.sql<{ n: number }[]>`
          SELECT count(*)::int AS n FROM pg_stat_activity
           WHERE datname = ${db.name} AND wait_event_type = 'Lock' AND query LIKE '%wallet_withdraw%'`;
        return row!.n === withdrawalCount;
      };
      await waitFor(waiting, () => 'withdrawals never blocked on the wallet row');

      service.child.kill('SIGTERM');
      // The listener closes first: new connections are refused while the withdrawals still wait.
      await waitFor(async () => !(await accepts(port)), () => 'the service kept accepting connections after SIGTERM');
      expect(service.child.exitCode).toBeNull();

      release();
      await holder;
      expect(await Promise.all(withdrawals)).toEqual(Array(withdrawalCount).fill(201));

      // The watchdog exits 1 past SHUTDOWN_TIMEOUT_MS, so 0 means the drain finished in time.
      expect(await service.exited).toEqual({ code: 0, signal: null });
      expect(service.stdout()).toContain('SIGTERM received');
      expect(service.stdout()).not.toContain('shutdown did not finish');
      const [wallet] = await db.sql<{ balance: string }[]>`SELECT balance::text FROM wallets WHERE id = ${walletId}`;
      expect(wallet!.balance).toBe('500');
    });

    it('HTTP_WORKERS=2 forks two workers on one port, replaces one that dies, and drains both on SIGTERM', async () => {
      const port = await freePort();
      const service = spawnService(envFor(port, { HTTP_WORKERS: '2' }), port);
      running.push(service);
      const workersOf = (): number[] => {
        try {
          return execFileSync('ps', ['--ppid', String(service.child.pid), '-o', 'pid='], { encoding: 'utf8' })
            .split('\n')
            .map((line) => Number(line.trim()))
            .filter((pid) => pid > 0);
        } catch {
          return []; // ps exits 1 when no process matches
        }
      };
      try {
        await waitUntilReady(service);
        await waitFor(
          async () => workersOf().length === 2,
          () => `expected two workers, saw ${workersOf().length}`,
        );
        const [doomed, survivor] = workersOf();
        process.kill(doomed!, 'SIGKILL');
        await waitFor(
          async () => {
            const workers = workersOf();
            return workers.length === 2 && !workers.includes(doomed!) && workers.includes(survivor!);
          },
          () => `no replacement for worker ${doomed}: ${workersOf().join(', ')}`,
        );
        await waitUntilReady(service);
        const created = await fetch(`${service.baseUrl}/wallets`, { method: 'POST', headers: { 'x-user-id': randomUUID() } });
        expect(created.status).toBe(201);

        const workers = workersOf();
        service.child.kill('SIGTERM');
        const { code } = await service.exited;
        expect(code).toBe(0);
        expect(service.stderr()).not.toMatch(/did not exit/);
        for (const pid of workers) expect(() => process.kill(pid, 0)).toThrow();
      } finally {
        for (const pid of workersOf()) process.kill(pid, 'SIGKILL');
      }
    });

    it('APP_ROLE=worker listens on no port and exits 0 on SIGTERM', async () => {
      const port = await freePort();
      const service = spawnService(envFor(port, { APP_ROLE: 'worker' }), port);
      running.push(service);
      await waitFor(
        async () => service.stdout().includes('started role=worker'),
        () => `worker did not start; stderr: ${service.stderr().slice(-2_000)}`,
      );
      expect(await accepts(port)).toBe(false);
      service.child.kill('SIGTERM');
      expect(await service.exited).toEqual({ code: 0, signal: null });
    });
  });
});
