import { ThrottlerStorageRedisService } from '@nest-lab/throttler-storage-redis';
import type { ThrottlerStorage } from '@nestjs/throttler';
import { Cluster } from 'ioredis';
import { claimLua, ClaimAnswer, EarlyClaim } from '../idempotency/idempotency.service';
import type { RedisClient } from '../redis/redis-connection.factory';

export type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/** One window of the per-caller limit, as the guard counts it. */
export interface LimitWindow {
  name: string;
  /** The guard's key of this caller and window; the storage adds the window's hash tag. */
  key: string;
  ttlMs: number;
  limit: number;
  blockDurationMs: number;
}

/**
 * What one call of the limit and the idempotency claim answered: the first window that refused
 * the request (later windows are not counted, as when the guard counts window by window), or
 * the claim's answer.
 */
export type LimitAndClaimOutcome =
  | { kind: 'limited'; window: LimitWindow; record: ThrottlerStorageRecord }
  | { kind: 'claim'; answer: ClaimAnswer }
  /** Redis did not answer: nothing is limited and nothing claimed (the fail-open storage's answer). */
  | { kind: 'unavailable' };

/**
 * The library's counter (`getScriptSrc`), per window, then the idempotency claim. Keys: hits and
 * blocked per window, then the claim's result and lock keys. Arguments: the window count, then
 * TTL, limit and block duration per window, then the claim's token and lock TTL.
 */
const LIMIT_AND_CLAIM_SCRIPT = `
local windows = tonumber(ARGV[1])
for i = 0, windows - 1 do
  local hitKey = KEYS[2 * i + 1]
  local blockKey = KEYS[2 * i + 2]
  local ttl = tonumber(ARGV[3 * i + 2])
  local limit = tonumber(ARGV[3 * i + 3])
  local blockDuration = tonumber(ARGV[3 * i + 4])
  local totalHits = redis.call('INCR', hitKey)
  local timeToExpire = redis.call('PTTL', hitKey)
  if timeToExpire <= 0 then
    redis.call('PEXPIRE', hitKey, ttl)
    timeToExpire = ttl
  end
  local isBlocked = redis.call('GET', blockKey)
  local timeToBlockExpire = 0
  if isBlocked then
    timeToBlockExpire = redis.call('PTTL', blockKey)
  elseif totalHits > limit then
    redis.call('SET', blockKey, 1, 'PX', blockDuration)
    isBlocked = '1'
    timeToBlockExpire = blockDuration
  end
  if isBlocked and timeToBlockExpire <= 0 then
    redis.call('DEL', blockKey)
    redis.call('SET', hitKey, 1, 'PX', ttl)
    totalHits = 1
    timeToExpire = ttl
    isBlocked = false
  end
  if isBlocked then return {'limited', i, totalHits, timeToExpire, timeToBlockExpire} end
end
${claimLua('KEYS[2 * windows + 1]', 'KEYS[2 * windows + 2]', 'ARGV[3 * windows + 2]', 'ARGV[3 * windows + 3]')}`;

type ThrottlerRedis = RedisClient & {
  throttlerHit(
    hitKey: string,
    blockKey: string,
    throttlerName: string,
    ttlMs: number,
    limit: number,
    blockDurationMs: number,
  ): Promise<[number, number, number, number]>;
  /** Key count first: the number of windows varies. */
  limitAndClaim(keyCount: number, ...keysAndArgs: (string | number)[]): Promise<ClaimAnswer | ['limited', number, number, number, number]>;
};

/**
 * The library's counter, sent as EVALSHA: the library sends its whole Lua script with every
 * request (EVAL), which on the hottest path of the API costs a kilobyte on the wire and a
 * script hash in Redis per request. Same script, same keys, same result.
 *
 * `incrementAndClaim` counts a money request and makes its idempotency claim in one script call
 * (ADR 0069). It needs every key in one slot, which a Redis Cluster does not give (a caller's
 * windows and a request's key each have their own hash tag, ADR 0056), so there `canClaim` is
 * false and the two go separately, as before.
 */
export class ScriptCachedThrottlerStorage extends ThrottlerStorageRedisService {
  readonly canClaim: boolean;

  constructor(redis: RedisClient) {
    // The library takes a Redis or a Cluster, but not the union of the two.
    if (redis instanceof Cluster) super(redis);
    else super(redis);
    this.canClaim = !(redis instanceof Cluster);
    if (!('throttlerHit' in redis)) {
      redis.defineCommand('throttlerHit', { numberOfKeys: 2, lua: this.scriptSrc });
      redis.defineCommand('limitAndClaim', { lua: LIMIT_AND_CLAIM_SCRIPT });
    }
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

  async incrementAndClaim(windows: readonly LimitWindow[], claim: EarlyClaim, claimTtlMs: number): Promise<LimitAndClaimOutcome> {
    const keys: string[] = [];
    const args: number[] = [windows.length];
    for (const window of windows) {
      keys.push(`{${window.key}:${window.name}}:hits`, `{${window.key}:${window.name}}:blocked`);
      args.push(window.ttlMs, window.limit, window.blockDurationMs);
    }
    keys.push(claim.resultKey, claim.lockKey);
    const answer = await (this.redis as ThrottlerRedis).limitAndClaim(keys.length, ...keys, ...args, claim.token, claimTtlMs);
    if (answer[0] !== 'limited') return { kind: 'claim', answer: answer as ClaimAnswer };
    const [, index, totalHits, timeToExpireMs, timeToBlockExpireMs] = answer as ['limited', number, number, number, number];
    return {
      kind: 'limited',
      window: windows[index]!,
      record: {
        totalHits,
        timeToExpire: Math.ceil(timeToExpireMs / 1000),
        isBlocked: true,
        timeToBlockExpire: Math.ceil(timeToBlockExpireMs / 1000),
      },
    };
  }
}
