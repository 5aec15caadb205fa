import { ChildProcess, execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import Redis from 'ioredis';
import postgres from 'postgres';
import { deleteKeysAt } from '../setup/redis-keys';
import { waitFor } from './postgres-nodes';

const run = promisify(execFile);

/** This suite's port range for Redis topology servers (below the ephemeral range). */
const PORTS_FROM = 23_000;
const PORTS_TO = 23_999;
const START_TIMEOUT_MS = 20_000;
const handedOut = new Set<number>();

/** A free loopback port in 23000-23999, scanned from a place that depends on the process id. */
export async function redisTopologyPort(): Promise<number> {
  const span = PORTS_TO - PORTS_FROM + 1;
  const start = (process.pid * 131) % span;
  for (let step = 0; step < span; step++) {
    const port = PORTS_FROM + ((start + step * 7) % span);
    if (handedOut.has(port)) continue;
    // Redis Cluster also listens on port + 10000 for its bus.
    const free = (await portFree(port)) && (await portFree(port + 10_000));
    if (free) {
      handedOut.add(port);
      return port;
    }
  }
  throw new Error(`no free port between ${PORTS_FROM} and ${PORTS_TO}`);
}

function portFree(port: number): Promise<boolean> {
  return new Promise<boolean>((done) => {
    const probe = createServer();
    probe.once('error', () => done(false));
    probe.listen(port, '127.0.0.1', () => probe.close(() => done(true)));
  });
}

export function redisDirectory(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

/** One redis-server or redis-sentinel of this suite's own, configured by a file in its own directory. */
export class RedisProcess {
  private child: ChildProcess | undefined;
  readonly output: string[] = [];

  constructor(
    readonly name: string,
    readonly port: number,
    private readonly dir: string,
    private readonly binary: 'redis-server' | 'redis-sentinel',
    private readonly config: string,
  ) {}

  private get configPath(): string {
    return join(this.dir, `${this.name}.conf`);
  }

  /** Starts the process; a Sentinel rewrites its file, so it is written only on the first start. */
  async start(options: { rewriteConfig?: boolean } = {}): Promise<void> {
    if (options.rewriteConfig ?? true) {
      writeFileSync(
        this.configPath,
        `port ${this.port}\nbind 127.0.0.1\ndir ${this.dir}\nsave ""\nappendonly no\ndaemonize no\n${this.config}\n`,
      );
    }
    const child = spawn(this.binary, [this.configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
    child.stdout!.on('data', (chunk: Buffer) => this.output.push(chunk.toString('utf8')));
    child.stderr!.on('data', (chunk: Buffer) => this.output.push(chunk.toString('utf8')));
    this.child = child;
    await waitFor(`${this.name} answering PING`, async () => (await this.cli(['PING'])).trim() === 'PONG', START_TIMEOUT_MS);
  }

  /** Killed as a crash would: nothing flushed, no goodbye to clients or Sentinels. */
  async crash(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null || child.signalCode !== null) return;
    await new Promise<void>((done) => {
      child.once('exit', () => done());
      child.kill('SIGKILL');
    });
  }

  /** Stops the process from running at all (SIGSTOP), or lets it go on (SIGCONT). */
  freeze(frozen: boolean): void {
    this.child?.kill(frozen ? 'SIGSTOP' : 'SIGCONT');
  }

  async cli(args: string[]): Promise<string> {
    const { stdout } = await run('redis-cli', ['-h', '127.0.0.1', '-p', String(this.port), ...args], { timeout: 5_000 });
    return stdout;
  }
}

/** A master, one replica and three Sentinels (quorum 2), failing over within a couple of seconds. */
export class SentinelTopology {
  readonly masterName = 'wallet';
  private constructor(
    readonly dir: string,
    readonly servers: RedisProcess[],
    readonly sentinels: RedisProcess[],
  ) {}

  static async start(): Promise<SentinelTopology> {
    const dir = redisDirectory('wallet-topology-redis-sentinel-');
    const first = await redisTopologyPort();
    const master = new RedisProcess('redis-a', first, dir, 'redis-server', '');
    const replica = new RedisProcess('redis-b', await redisTopologyPort(), dir, 'redis-server', `replicaof 127.0.0.1 ${first}`);
    await master.start();
    await replica.start();
    const sentinels: RedisProcess[] = [];
    for (const name of ['sentinel-1', 'sentinel-2', 'sentinel-3']) {
      sentinels.push(
        new RedisProcess(
          name,
          await redisTopologyPort(),
          dir,
          'redis-sentinel',
          [
            `sentinel monitor wallet 127.0.0.1 ${first} 2`,
            'sentinel down-after-milliseconds wallet 1000',
            'sentinel failover-timeout wallet 10000',
            'sentinel parallel-syncs wallet 1',
          ].join('\n'),
        ),
      );
    }
    for (const sentinel of sentinels) await sentinel.start();
    const topology = new SentinelTopology(dir, [master, replica], sentinels);
    await waitFor('replica in sync and known to every Sentinel', () => topology.settled(), 30_000);
    return topology;
  }

  get sentinelList(): string {
    return this.sentinels.map((sentinel) => `127.0.0.1:${sentinel.port}`).join(',');
  }

  /** The master's port as the first Sentinel names it. */
  async masterPort(): Promise<number> {
    const answer = await this.sentinels[0]!.cli(['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.masterName]);
    return Number(answer.trim().split('\n')[1]);
  }

  server(port: number): RedisProcess {
    const server = this.servers.find((candidate) => candidate.port === port);
    if (!server) throw new Error(`no server on port ${port}`);
    return server;
  }

  /** Every Sentinel agrees on the master, and it has a replica that is online. */
  async settled(): Promise<boolean> {
    const ports = await Promise.all(
      this.sentinels.map(async (sentinel) =>
        Number((await sentinel.cli(['SENTINEL', 'GET-MASTER-ADDR-BY-NAME', this.masterName])).trim().split('\n')[1]),
      ),
    );
    if (new Set(ports).size !== 1) return false;
    const info = await this.server(ports[0]!).cli(['INFO', 'replication']);
    return /role:master/.test(info) && /slave0:.*state=online/.test(info);
  }

  async stop(): Promise<void> {
    for (const process of [...this.sentinels, ...this.servers]) await process.crash();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** Three masters in a Redis Cluster, no replicas, every slot covered. */
export class ClusterTopology {
  private constructor(
    readonly dir: string,
    readonly nodes: RedisProcess[],
  ) {}

  static async start(): Promise<ClusterTopology> {
    const dir = redisDirectory('wallet-topology-redis-cluster-');
    const nodes: RedisProcess[] = [];
    for (const name of ['cluster-a', 'cluster-b', 'cluster-c']) {
      nodes.push(
        new RedisProcess(name, await redisTopologyPort(), dir, 'redis-server', `cluster-enabled yes\ncluster-config-file ${name}-nodes.conf\ncluster-node-timeout 2000`),
      );
    }
    for (const node of nodes) await node.start();
    await run(
      'redis-cli',
      ['--cluster', 'create', ...nodes.map((node) => `127.0.0.1:${node.port}`), '--cluster-replicas', '0', '--cluster-yes'],
      { timeout: 30_000 },
    );
    const topology = new ClusterTopology(dir, nodes);
    await waitFor(
      'every cluster node reporting cluster_state:ok',
      async () => (await Promise.all(nodes.map((node) => node.cli(['CLUSTER', 'INFO'])))).every((info) => /cluster_state:ok/.test(info)),
      30_000,
    );
    return topology;
  }

  get nodeList(): string {
    return this.nodes.map((node) => `127.0.0.1:${node.port}`).join(',');
  }

  /** Keys matching `pattern` on each node, by node name. */
  async keysByNode(pattern: string): Promise<Record<string, string[]>> {
    const entries = await Promise.all(
      this.nodes.map(async (node) => {
        const client = new Redis({ host: '127.0.0.1', port: node.port, lazyConnect: true, maxRetriesPerRequest: 1 });
        try {
          await client.connect();
          const keys: string[] = [];
          let cursor = '0';
          do {
            const [next, batch] = await client.scan(cursor, 'MATCH', pattern, 'COUNT', 1_000);
            keys.push(...batch);
            cursor = next;
          } while (cursor !== '0');
          return [node.name, keys] as const;
        } finally {
          client.disconnect();
        }
      }),
    );
    return Object.fromEntries(entries);
  }

  async stop(): Promise<void> {
    for (const node of this.nodes) await node.crash();
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/**
 * A database of its own on the shared PostgreSQL for one test file (the service creates and
 * migrates it at start); dropped at the end. The Redis topology is what these tests fail over.
 */
export class ScratchDatabase {
  readonly name = `wallet_topology_redis_${Date.now().toString(36)}_${process.pid}`;

  constructor(private readonly serverUrl = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres') {}

  get url(): string {
    const url = new URL(this.serverUrl);
    url.pathname = `/${this.name}`;
    return url.toString();
  }

  connect() {
    return postgres(this.url, { max: 2, onnotice: () => undefined });
  }

  async drop(): Promise<void> {
    const admin = postgres(this.serverUrl, { max: 1, onnotice: () => undefined });
    try {
      await admin.unsafe(`DROP DATABASE IF EXISTS "${this.name}" WITH (FORCE)`);
    } finally {
      await admin.end({ timeout: 5 });
    }
  }
}

/** The shared Redis that the PostgreSQL drills' services use, each under a prefix of its own. */
export const SHARED_REDIS_URL = 'redis://127.0.0.1:6379';

/** A drill's own key prefix on the shared Redis. */
export function drillKeyPrefix(): string {
  return `topology:${randomBytes(4).toString('hex')}:`;
}

/**
 * Deletes what a drill's service left under its prefix on the shared Redis: idempotency results
 * would stay a day, BullMQ's meta keys for good.
 */
export async function deleteDrillKeys(prefix: string): Promise<void> {
  await deleteKeysAt(SHARED_REDIS_URL, prefix);
}
