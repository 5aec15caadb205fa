import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { Cluster } from 'ioredis';
import type { RedisClient } from '../redis/redis-connection.factory';

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

type ThrottlerRedis = RedisClient & {
  throttlerHit(
    hitKey: string,
    blockKey: string,
    throttlerName: string,
    ttlMs: number,
    limit: number,
    blockDurationMs: number,
  ): Promise<[number, number, number, number]>;
};

/**
 * The library's counter, sent as EVALSHA: the library sends its whole Lua script with every
 * request (EVAL), which on the hottest path of the API costs a kilobyte on the wire and a
 * script hash in Redis per request. Same script, same keys, same result.
 */
export class ScriptCachedThrottlerStorage extends ThrottlerStorageRedisService {
  constructor(redis: RedisClient) {
    // The library takes a Redis or a Cluster, but not the union of the two.
    if (redis instanceof Cluster) super(redis);
    else super(redis);
    if (!('throttlerHit' in redis)) redis.defineCommand('throttlerHit', { numberOfKeys: 2, lua: this.scriptSrc });
  }

  override async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    const [totalHits, timeToExpireMs, isBlocked, timeToBlockExpireMs] = await (this.redis as ThrottlerRedis).throttlerHit(
      `{${key}:${throttlerName}}:hits`,
      `{${key}:${throttlerName}}:blocked`,
      throttlerName,
      ttl,
      limit,
      blockDuration,
    );
    return {
      totalHits,
      timeToExpire: Math.ceil(timeToExpireMs / 1000),
      isBlocked: isBlocked === 1,
      timeToBlockExpire: Math.ceil(timeToBlockExpireMs / 1000),
    };
  }
}
