import { Logger } from '@nestjs/common';
import Redis, { Cluster } from 'ioredis';
import { RedisConnectionFactory } from './redis-connection.factory';

/** Nothing listens on port 1: the connections are built, inspected and closed before they matter. */
const NOWHERE = { host: '127.0.0.1', port: 1 };

describe('RedisConnectionFactory', () => {
  const factories: RedisConnectionFactory[] = [];
  beforeAll(() => Logger.overrideLogger(false));
  afterEach(async () => {
    await Promise.all(factories.splice(0).map((factory) => factory.closeAll()));
  });

  function factory(...args: ConstructorParameters<typeof RedisConnectionFactory>): RedisConnectionFactory {
    const created = new RedisConnectionFactory(...args);
    factories.push(created);
    return created;
  }

  it('keeps the queue prefix of a single Redis and of Sentinel, and hash-tags it on a Cluster', () => {
    expect(factory('redis://127.0.0.1:1', 'wallet:').queuePrefix).toBe('wallet:bull');
    expect(
      factory('redis://127.0.0.1:1', 'wallet:', { kind: 'sentinel', sentinels: [NOWHERE], masterName: 'm', sentinelPassword: undefined })
        .queuePrefix,
    ).toBe('wallet:bull');
    expect(factory('redis://127.0.0.1:1', 'wallet:', { kind: 'cluster', nodes: [NOWHERE] }).queuePrefix).toBe('{wallet:bull}');
  });

  it('asks the Sentinels for the master with REDIS_URL credentials, database and TLS, and checks the role of queue connections', () => {
    const sentinel = factory('rediss://svc:s%3Acret@ignored.invalid:6380/3', 'wallet:', {
      kind: 'sentinel',
      sentinels: [NOWHERE],
      masterName: 'wallet-master',
      sentinelPassword: 'sentinel-secret',
    });
    const cache = sentinel.create('cache') as Redis;
    const queue = sentinel.create('queue') as Redis;
    expect(cache.options).toMatchObject({
      sentinels: [NOWHERE],
      name: 'wallet-master',
      sentinelPassword: 'sentinel-secret',
      username: 'svc',
      password: 's:cret',
      db: 3,
      tls: {},
      enableTLSForSentinelMode: true,
      failoverDetector: true,
      keyPrefix: 'wallet:',
      enableOfflineQueue: false,
    });
    expect(queue.options).toMatchObject({ name: 'wallet-master', maxRetriesPerRequest: null, enableReadyCheck: true });
    expect(queue.options.keyPrefix).toBe('');
    expect(cache.options.reconnectOnError!(new Error("READONLY You can't write against a read only replica."))).toBe(2);
    expect(cache.options.reconnectOnError!(new Error('WRONGTYPE'))).toBe(false);
  });

  it('opens a Cluster from the seed nodes, with the key prefix on the cache and reads from masters', () => {
    const cluster = factory('redis://:pw@ignored.invalid', 'wallet:', { kind: 'cluster', nodes: [NOWHERE] });
    const cache = cluster.create('cache');
    const queue = cluster.create('queue');
    expect(cache).toBeInstanceOf(Cluster);
    expect((cache as Cluster).options).toMatchObject({ keyPrefix: 'wallet:', enableOfflineQueue: false, scaleReads: 'master' });
    expect((cache as Cluster).options.redisOptions).toMatchObject({ password: 'pw', maxRetriesPerRequest: 1 });
    expect((queue as Cluster).options.redisOptions).toMatchObject({ maxRetriesPerRequest: null });
    expect((queue as Cluster).options.keyPrefix).toBeUndefined();
  });
});
