import { Logger } from '@nestjs/common';
import Redis, { Cluster, ClusterOptions, RedisOptions } from 'ioredis';
import type { RedisTopology } from '../config/app-config';
import { withTimeout } from '../common/async/with-timeout';

export type RedisPurpose = 'cache' | 'queue';

/** A connection to a single Redis (directly or found through Sentinel) or to a Redis Cluster. */
export type RedisClient = Redis | Cluster;

/** Bounds that keep a Redis outage from stalling requests: the cache is optional, the DB is not. */
/**
 * A hung Redis costs a request at most this long before it falls back to PostgreSQL. A dead
 * one costs nothing: with no offline queue, commands fail as soon as the connection is gone.
 * 250 ms proved too tight on a saturated machine (healthy commands timed out under load).
 */
const CACHE_COMMAND_TIMEOUT_MS = 1_000;
const CONNECT_TIMEOUT_MS = 2_000;
const QUIT_TIMEOUT_MS = 1_000;
const RECONNECT_DELAY_MAX_MS = 2_000;
/** A Sentinel that does not answer is skipped after this long, and the next one asked. */
const SENTINEL_COMMAND_TIMEOUT_MS = 1_000;

/**
 * The one place that opens Redis connections. The cache connection fails fast (no offline
 * queue, short timeouts) so callers can fall back to PostgreSQL; the queue connection follows
 * BullMQ's requirements (unlimited retries per request, no key prefix of ioredis's own).
 *
 * The master is REDIS_URL's address, or whatever the Sentinels name (ADR 0055), or the slot
 * owners a Cluster reports (ADR 0056). REDIS_URL's credentials, database index and TLS apply
 * in every case.
 */
export class RedisConnectionFactory {
  private readonly logger = new Logger('Redis');
  private readonly connections: { purpose: RedisPurpose; connection: RedisClient }[] = [];

  constructor(
    private readonly url: string,
    readonly keyPrefix: string,
    readonly topology: RedisTopology = { kind: 'standalone' },
  ) {}

  /**
   * BullMQ's `prefix` option: BullMQ rejects ioredis's `keyPrefix`, so it gets its own. On a
   * Cluster the prefix is a hash tag, so that every key of every queue lands in one slot: BullMQ's
   * scripts touch several keys of a queue at once, and a Cluster refuses that across slots
   * (CROSSSLOT). Elsewhere it stays as it was, so that an upgrade keeps the queued jobs.
   */
  get queuePrefix(): string {
    return this.topology.kind === 'cluster' ? `{${this.keyPrefix}bull}` : `${this.keyPrefix}bull`;
  }

  create(purpose: RedisPurpose): RedisClient {
    const perPurpose: RedisOptions =
      purpose === 'cache'
        ? {
            keyPrefix: this.keyPrefix,
            enableOfflineQueue: false,
            // Concurrent requests' commands share one socket write instead of one syscall each.
            enableAutoPipelining: true,
            maxRetriesPerRequest: 1,
            commandTimeout: CACHE_COMMAND_TIMEOUT_MS,
          }
        : // Behind Sentinel the ready check is what refuses a replica (ioredis compares ROLE).
          { maxRetriesPerRequest: null, enableReadyCheck: this.topology.kind === 'sentinel' };
    const connection = this.open(purpose, perPurpose);
    let reportedDown = false;
    connection.on('error', (error: Error) => {
      // ioredis emits an error on every failed reconnect; one line per outage is enough.
      if (!reportedDown) this.logger.warn({ purpose, err: error.message }, 'redis connection error');
      reportedDown = true;
    });
    connection.on('ready', () => {
      if (reportedDown) this.logger.log({ purpose }, 'redis connection restored');
      reportedDown = false;
    });
    if (this.topology.kind === 'sentinel') {
      connection.on('+switch-master', () => this.logger.warn({ purpose }, 'redis master switched; reconnecting to the new master'));
    }
    this.connections.push({ purpose, connection });
    return connection;
  }

  /**
   * Whether every connection of `purpose` (none: trivially) is connected, and to a master: a connection left on
   * a demoted master would answer PING but refuse every write (READONLY). Readiness reports
   * this, so a load balancer stops sending traffic while the service cannot queue work.
   */
  async writable(purpose: RedisPurpose): Promise<boolean> {
    const connections = this.connections.filter((entry) => entry.purpose === purpose).map((entry) => entry.connection);
    const answers = await Promise.all(connections.map((connection) => isWritable(connection)));
    return answers.every(Boolean);
  }

  /**
   * QUIT politely, but never wait long: a connection that is reconnecting queues QUIT until
   * Redis answers again, which would hold shutdown hostage to a Redis outage.
   */
  async closeAll(): Promise<void> {
    await Promise.all(
      this.connections.map(async ({ connection }) => {
        try {
          await withTimeout(connection.quit(), QUIT_TIMEOUT_MS);
        } catch {
          connection.disconnect();
        }
      }),
    );
  }

  private open(purpose: RedisPurpose, perPurpose: RedisOptions): RedisClient {
    const common: RedisOptions = {
      connectTimeout: CONNECT_TIMEOUT_MS,
      retryStrategy: (attempt) => Math.min(attempt * 100, RECONNECT_DELAY_MAX_MS),
      connectionName: `wallet-${purpose}`,
    };
    const topology = this.topology;
    if (topology.kind === 'standalone') return new Redis(this.url, { ...common, ...perPurpose });
    const credentials = credentialsOf(this.url);
    if (topology.kind === 'sentinel') {
      return new Redis({
        ...credentials,
        ...common,
        ...perPurpose,
        sentinels: topology.sentinels.map((node) => ({ host: node.host, port: node.port })),
        name: topology.masterName,
        sentinelPassword: topology.sentinelPassword,
        // Without it ioredis would reach the master in plain TCP even with rediss:// (the
        // Sentinels themselves are reached without TLS).
        enableTLSForSentinelMode: credentials.tls !== undefined,
        sentinelCommandTimeout: SENTINEL_COMMAND_TIMEOUT_MS,
        sentinelRetryStrategy: (attempt) => Math.min(attempt * 100, RECONNECT_DELAY_MAX_MS),
        // Subscribes to the Sentinels' +switch-master and reconnects at once, instead of waiting
        // for the old master to drop the connection.
        failoverDetector: true,
        // A command that reached a demoted master is sent again on a fresh connection, which
        // asks the Sentinels for the master first.
        reconnectOnError: (error) => (error.message.startsWith('READONLY') ? 2 : false),
      });
    }
    const { keyPrefix, enableOfflineQueue, enableAutoPipelining, maxRetriesPerRequest, enableReadyCheck, ...perNode } = perPurpose;
    const options: ClusterOptions = {
      redisOptions: { ...credentials, ...common, ...perNode, maxRetriesPerRequest },
      ...(keyPrefix === undefined ? {} : { keyPrefix }),
      ...(enableOfflineQueue === undefined ? {} : { enableOfflineQueue }),
      ...(enableAutoPipelining === undefined ? {} : { enableAutoPipelining }),
      ...(enableReadyCheck === undefined ? {} : { enableReadyCheck }),
      // Writes and reads both go to the slot's master: a replica may be behind.
      scaleReads: 'master',
      clusterRetryStrategy: (attempt) => Math.min(attempt * 100, RECONNECT_DELAY_MAX_MS),
      slotsRefreshTimeout: CONNECT_TIMEOUT_MS,
    };
    return new Cluster(
      topology.nodes.map((node) => ({ host: node.host, port: node.port })),
      options,
    );
  }
}

/** REDIS_URL without its address: what still applies when Sentinel or Cluster names the hosts. */
function credentialsOf(url: string): Pick<RedisOptions, 'username' | 'password' | 'db' | 'tls'> {
  const parsed = new URL(url);
  const database = parsed.pathname.replace(/^\//, '');
  return {
    ...(parsed.username ? { username: decodeURIComponent(parsed.username) } : {}),
    ...(parsed.password ? { password: decodeURIComponent(parsed.password) } : {}),
    ...(/^\d+$/.test(database) ? { db: Number(database) } : {}),
    ...(parsed.protocol === 'rediss:' ? { tls: {} } : {}),
  };
}

async function isWritable(connection: RedisClient): Promise<boolean> {
  if (connection.status !== 'ready') return false;
  if (connection instanceof Cluster) {
    // Every slot has a master that answers: CLUSTER INFO says `cluster_state:ok`.
    const info = String(await connection.cluster('INFO'));
    return /^cluster_state:ok\b/m.test(info);
  }
  const [role] = (await connection.role()) as [string, ...unknown[]];
  return role === 'master';
}
