import { Logger } from '@nestjs/common';
import Redis, { RedisOptions } from 'ioredis';
import { withTimeout } from '../common/async/with-timeout';

export type RedisPurpose = 'cache' | 'queue';

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

/**
 * The one place that opens Redis connections. The cache connection fails fast (no offline
 * queue, short timeouts) so callers can fall back to PostgreSQL; the queue connection follows
 * BullMQ's requirements (unlimited retries per request, no key prefix of ioredis's own).
 */
export class RedisConnectionFactory {
  private readonly logger = new Logger('Redis');
  private readonly connections: Redis[] = [];

  constructor(
    private readonly url: string,
    readonly keyPrefix: string,
  ) {}

  /** BullMQ's `prefix` option: BullMQ rejects ioredis's `keyPrefix`, so it gets its own. */
  get queuePrefix(): string {
    return `${this.keyPrefix}bull`;
  }

  create(purpose: RedisPurpose): Redis {
    const common: RedisOptions = {
      connectTimeout: CONNECT_TIMEOUT_MS,
      retryStrategy: (attempt) => Math.min(attempt * 100, RECONNECT_DELAY_MAX_MS),
      connectionName: `wallet-${purpose}`,
    };
    const options: RedisOptions =
      purpose === 'cache'
        ? {
            ...common,
            keyPrefix: this.keyPrefix,
            enableOfflineQueue: false,
            // Concurrent requests' commands share one socket write instead of one syscall each.
            enableAutoPipelining: true,
            maxRetriesPerRequest: 1,
            commandTimeout: CACHE_COMMAND_TIMEOUT_MS,
          }
        : { ...common, maxRetriesPerRequest: null, enableReadyCheck: false };
    const connection = new Redis(this.url, options);
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
    this.connections.push(connection);
    return connection;
  }

  /**
   * QUIT politely, but never wait long: a connection that is reconnecting queues QUIT until
   * Redis answers again, which would hold shutdown hostage to a Redis outage.
   */
  async closeAll(): Promise<void> {
    await Promise.all(
      this.connections.map(async (connection) => {
        try {
          await withTimeout(connection.quit(), QUIT_TIMEOUT_MS);
        } catch {
          connection.disconnect();
        }
      }),
    );
  }
}
