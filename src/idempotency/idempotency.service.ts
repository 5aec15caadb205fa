import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { randomUUID } from 'node:crypto';
import { DomainError } from '../common/errors/domain-errors';
import { AppConfig } from '../config/app-config';
import { MetricsService, OperationOutcome } from '../metrics/metrics.service';
import type { RedisClient } from '../redis/redis-connection.factory';
import { REDIS_CACHE } from '../redis/redis.module';
import { IdempotencyInFlightError, IdempotencyKeyReusedError } from './idempotency.errors';

/** How long a completed result is served from Redis (PostgreSQL keeps it for good). */
export const RESULT_TTL_SECONDS = 24 * 3600;
/**
 * How long an in-flight claim blocks the key. Short on purpose: the claim only turns
 * concurrent duplicates into 409s; exactly-once is the database's unique constraint.
 */
export const IN_FLIGHT_TTL_MS = 10_000;

// capture / void: transitions of a hold (ADR 0018), which happen once whatever the key; the key only replays.
export type IdempotentOperation = 'purchase' | 'withdrawal' | 'deposit' | 'refund' | 'capture' | 'void';

export interface IdempotencyScope {
  callerId: string;
  operation: IdempotentOperation;
  key: string;
}

/** What the database said: the operation's result, and whether it already existed. */
export interface ExecutionResult<T> {
  body: T;
  replayed: boolean;
  storedFingerprint: string;
}

export interface IdempotentOutcome<T> {
  body: T;
  replayed: boolean;
}

interface CachedResult {
  fingerprint: string;
  body: unknown;
}

const CLAIM_SCRIPT = `
local stored = redis.call('GET', KEYS[1])
if stored then return {'result', stored} end
if redis.call('SET', KEYS[2], ARGV[1], 'NX', 'PX', ARGV[2]) then return {'claimed'} end
return {'in_flight'}`;

const COMPLETE_SCRIPT = `
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1`;

const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

type IdempotencyRedis = RedisClient & {
  idempotencyClaim(resultKey: string, lockKey: string, token: string, ttlMs: number): Promise<[string, string?]>;
  idempotencyComplete(resultKey: string, lockKey: string, token: string, result: string, ttlSeconds: number): Promise<number>;
  idempotencyRelease(lockKey: string, token: string): Promise<number>;
};

/**
 * Client-owned idempotency keys for every money-moving endpoint. Redis answers replays and
 * turns concurrent duplicates into 409 in one round trip; the database's unique constraint on
 * (caller, key) is what guarantees exactly once, so with Redis down results are the same.
 */
@Injectable()
export class IdempotencyService {
  private readonly logger = new Logger(IdempotencyService.name);
  private readonly redis: IdempotencyRedis;
  /**
   * Results this process has already replayed. A completed result never changes (the database
   * answers a replay with the same row for good), so a key retried again is answered without a
   * Redis round trip. Only replayed keys are kept: most keys are never retried at all.
   */
  private readonly replayed: LRUCache<string, CachedResult> | undefined;

  constructor(
    @Inject(REDIS_CACHE) redis: RedisClient,
    config: AppConfig,
    @Optional() private readonly metrics?: MetricsService,
  ) {
    const size = config.idempotencyMemoryResults;
    this.replayed = size > 0 ? new LRUCache({ max: size, ttl: RESULT_TTL_SECONDS * 1_000 }) : undefined;
    if (!('idempotencyClaim' in redis)) {
      redis.defineCommand('idempotencyClaim', { numberOfKeys: 2, lua: CLAIM_SCRIPT });
      redis.defineCommand('idempotencyComplete', { numberOfKeys: 2, lua: COMPLETE_SCRIPT });
      redis.defineCommand('idempotencyRelease', { numberOfKeys: 1, lua: RELEASE_SCRIPT });
    }
    this.redis = redis as IdempotencyRedis;
  }

  async execute<T>(
    scope: IdempotencyScope,
    fingerprint: string,
    operation: () => Promise<ExecutionResult<T>>,
  ): Promise<IdempotentOutcome<T>> {
    return this.recorded(scope.operation, () => this.executeOnce(scope, fingerprint, operation));
  }

  /** A money operation without a key (deposits may omit one): only its outcome is counted. */
  async executeWithoutKey<T>(
    operation: IdempotentOperation,
    run: () => Promise<ExecutionResult<T>>,
  ): Promise<IdempotentOutcome<T>> {
    return this.recorded(operation, async () => ({ body: (await run()).body, replayed: false }));
  }

  private async recorded<T>(
    operation: IdempotentOperation,
    run: () => Promise<IdempotentOutcome<T>>,
  ): Promise<IdempotentOutcome<T>> {
    try {
      const outcome = await run();
      this.metrics?.recordOperation(operation, outcome.replayed ? 'replayed' : 'completed');
      return outcome;
    } catch (error) {
      this.metrics?.recordOperation(operation, outcomeOf(error));
      throw error;
    }
  }

  private async executeOnce<T>(
    scope: IdempotencyScope,
    fingerprint: string,
    operation: () => Promise<ExecutionResult<T>>,
  ): Promise<IdempotentOutcome<T>> {
    // One hash tag for both keys: the claim script reads and writes them together, which a
    // Redis Cluster allows only within one slot (ADR 0056).
    const resultKey = `idem:{${scope.operation}:${scope.callerId}:${scope.key}}`;
    const lockKey = `${resultKey}:lock`;
    const remembered = this.replayed?.get(resultKey);
    if (remembered) return replayOf<T>(remembered, fingerprint);
    const token = randomUUID();

    const claim = await this.claim(resultKey, lockKey, token);
    if (claim.state === 'result') {
      this.replayed?.set(resultKey, claim.cached);
      return replayOf<T>(claim.cached, fingerprint);
    }
    if (claim.state === 'in_flight') throw new IdempotencyInFlightError();

    let result: ExecutionResult<T>;
    try {
      result = await operation();
    } catch (error) {
      // A failed request leaves the key free, so the client may retry it.
      if (claim.state === 'claimed') await this.bestEffort(() => this.redis.idempotencyRelease(lockKey, token));
      throw error;
    }
    if (result.storedFingerprint !== fingerprint) {
      if (claim.state === 'claimed') await this.bestEffort(() => this.redis.idempotencyRelease(lockKey, token));
      throw new IdempotencyKeyReusedError();
    }
    const cached: CachedResult = { fingerprint, body: result.body };
    if (result.replayed) this.replayed?.set(resultKey, cached);
    await this.bestEffort(() =>
      this.redis.idempotencyComplete(resultKey, lockKey, token, JSON.stringify(cached), RESULT_TTL_SECONDS),
    );
    return { body: result.body, replayed: result.replayed };
  }

  private async claim(
    resultKey: string,
    lockKey: string,
    token: string,
  ): Promise<{ state: 'result'; cached: CachedResult } | { state: 'claimed' | 'in_flight' | 'no_cache' }> {
    try {
      const [state, stored] = await this.redis.idempotencyClaim(resultKey, lockKey, token, IN_FLIGHT_TTL_MS);
      if (state === 'result') return { state, cached: JSON.parse(stored!) as CachedResult };
      return { state: state === 'claimed' ? 'claimed' : 'in_flight' };
    } catch (error) {
      this.logger.debug({ err: (error as Error).message }, 'idempotency cache unavailable, relying on the database');
      return { state: 'no_cache' };
    }
  }

  private async bestEffort(command: () => Promise<unknown>): Promise<void> {
    try {
      await command();
    } catch (error) {
      this.logger.debug({ err: (error as Error).message }, 'idempotency cache write skipped');
    }
  }
}

/** A stored result answers only the request it was made for; the same key with another body is a 422. */
function replayOf<T>(cached: CachedResult, fingerprint: string): IdempotentOutcome<T> {
  if (cached.fingerprint !== fingerprint) throw new IdempotencyKeyReusedError();
  return { body: cached.body as T, replayed: true };
}

function outcomeOf(error: unknown): OperationOutcome {
  if (error instanceof IdempotencyInFlightError) return 'conflict';
  if (error instanceof IdempotencyKeyReusedError) return 'key_reused';
  if (error instanceof DomainError && error.kind !== 'unavailable') return 'rejected';
  return 'failed';
}
