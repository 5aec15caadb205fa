import { Inject, Injectable, Logger, Optional } from '@nestjs/common';
import { LRUCache } from 'lru-cache';
import { randomUUID } from 'node:crypto';
import { DomainError } from '../common/errors/domain-errors';
import { AppConfig } from '../config/app-config';
import { MetricsService, OperationOutcome } from '../metrics/metrics.service';
import type { RedisClient } from '../redis/redis-connection.factory';
import { REDIS_CACHE } from '../redis/redis.module';
import { IdempotencyInFlightError, IdempotencyKeyReusedError } from './idempotency.errors';
import { InFlightClaims } from './in-flight-claims';

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

/** Where a request's claim made ahead of its service call is found again (see `adopt`). */
export interface EarlyClaim {
  resultKey: string;
  lockKey: string;
  token: string;
}

type AdoptedClaim = { token: string } & ({ state: 'claimed' | 'no_cache' } | { state: 'result'; cached: CachedResult });

/** The early claim a request made, on the Fastify request, for the release after its answer. */
const EARLY_CLAIM = Symbol('earlyIdempotencyClaim');
type WithEarlyClaim = { [EARLY_CLAIM]?: EarlyClaim };

/**
 * Claims waiting for their request's service call, at most this many per process; each is
 * forgotten when its lock expires (IN_FLIGHT_TTL_MS) at the latest.
 */
const ADOPTED_CLAIMS_MAX = 50_000;

/**
 * The claim script's lines, over the expressions that name its keys and arguments, so that the
 * rate limiter's combined script (ADR 0069) runs the very same lines after its own.
 */
export function claimLua(resultKey: string, lockKey: string, token: string, ttlMs: string): string {
  return `
local stored = redis.call('GET', ${resultKey})
if stored then return {'result', stored} end
if redis.call('SET', ${lockKey}, ${token}, 'NX', 'PX', ${ttlMs}) then return {'claimed'} end
return {'in_flight'}`;
}

const CLAIM_SCRIPT = claimLua('KEYS[1]', 'KEYS[2]', 'ARGV[1]', 'ARGV[2]');

/**
 * What a claim script answers: a stored result, the lock taken, or the lock held by another
 * request; `no_cache` when Redis did not answer.
 */
export type ClaimAnswer = [string, string?];

const COMPLETE_SCRIPT = `
redis.call('SET', KEYS[1], ARGV[2], 'EX', ARGV[3])
if redis.call('GET', KEYS[2]) == ARGV[1] then redis.call('DEL', KEYS[2]) end
return 1`;

const RELEASE_SCRIPT = `
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0`;

type IdempotencyRedis = RedisClient & {
  idempotencyClaim(resultKey: string, lockKey: string, token: string, ttlMs: number): Promise<ClaimAnswer>;
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
  /**
   * Claims made ahead of the service call by the rate limiter, in the same script call as the
   * limit (ADR 0069), by result key: the request's service call takes its claim from here
   * instead of asking Redis again. A request that never gets there (refused by validation,
   * say) releases its claim before its answer leaves (`releaseUnadopted`).
   */
  private readonly adopted = new InFlightClaims<AdoptedClaim>({ maxEntries: ADOPTED_CLAIMS_MAX, ttlMs: IN_FLIGHT_TTL_MS });

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

  /** The Redis keys of a scope: one hash tag for both (ADR 0056). */
  earlyClaimOf(scope: IdempotencyScope, token: string): EarlyClaim {
    const resultKey = resultKeyOf(scope);
    return { resultKey, lockKey: `${resultKey}:lock`, token };
  }

  /** Whether this process answers the scope's replays from memory, with no Redis round trip. */
  remembers(claim: EarlyClaim): boolean {
    return this.replayed?.has(claim.resultKey) ?? false;
  }

  /**
   * Keeps what a claim made ahead of the service call answered, for that request's service call.
   * A lock held by another request is not kept: the service call asks again, so that the 409
   * comes after validation, as it always did. `no_cache` (Redis did not answer in time) is kept
   * with its token: the script may still have taken the lock, and the service call must neither
   * wait for Redis again nor find that lock held by "another" request; its completion frees
   * the lock by that token. `request` remembers the claim for its release.
   */
  adopt(request: object, claim: EarlyClaim, [state, stored]: ClaimAnswer): void {
    if (state === 'claimed') {
      this.adopted.set(claim.resultKey, { state, token: claim.token });
    } else if (state === 'no_cache' && !this.adopted.has(claim.resultKey)) {
      this.adopted.set(claim.resultKey, { state, token: claim.token });
    } else if (state === 'result' && !this.adopted.has(claim.resultKey)) {
      const cached = parsedResult(stored);
      // Unreadable: the service call asks again and treats it as its own claim would.
      if (cached === undefined) return;
      this.adopted.set(claim.resultKey, { state, token: claim.token, cached });
    } else {
      return;
    }
    (request as WithEarlyClaim)[EARLY_CLAIM] = claim;
  }

  /**
   * Called before every answer leaves: frees the lock of an early claim that no service call
   * took (the request failed before it), so that a retry finds the key free, as it would had
   * the claim been made by the service call.
   */
  async releaseUnadopted(request: object): Promise<void> {
    const claim = (request as WithEarlyClaim)[EARLY_CLAIM];
    if (claim === undefined) return;
    (request as WithEarlyClaim)[EARLY_CLAIM] = undefined;
    const adopted = this.adopted.get(claim.resultKey);
    if (adopted?.token !== claim.token) return;
    this.adopted.delete(claim.resultKey);
    // As before for a claim that got no answer: its lock, if the script took it, simply expires.
    if (adopted.state === 'claimed') await this.bestEffort(() => this.redis.idempotencyRelease(claim.lockKey, claim.token));
  }

  /**
   * Whether `request` made an early claim that no service call took: the answer's hook then
   * calls `releaseUnadopted`, and skips the promise for every other answer.
   */
  hasEarlyClaim(request: object): boolean {
    const claim = (request as WithEarlyClaim)[EARLY_CLAIM];
    return claim !== undefined && this.adopted.get(claim.resultKey)?.token === claim.token;
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
    const resultKey = resultKeyOf(scope);
    const lockKey = `${resultKey}:lock`;
    const remembered = this.replayed?.get(resultKey);
    if (remembered) return replayOf<T>(remembered, fingerprint);
    // A claim made ahead of this call, in the rate limiter's script call (ADR 0069); its token,
    // whichever request of this key made it: only one holds the lock at a time.
    const adopted = this.adopted.get(resultKey);
    if (adopted) this.adopted.delete(resultKey);
    const token = adopted?.token ?? randomUUID();

    const claim = adopted ?? (await this.claim(resultKey, lockKey, token));
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

/**
 * One hash tag for both keys of a scope: the claim script reads and writes them together, which
 * a Redis Cluster allows only within one slot (ADR 0056).
 */
function resultKeyOf(scope: IdempotencyScope): string {
  return `idem:{${scope.operation}:${scope.callerId}:${scope.key}}`;
}

function parsedResult(stored: string | undefined): CachedResult | undefined {
  try {
    return JSON.parse(stored!) as CachedResult;
  } catch {
    return undefined;
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
