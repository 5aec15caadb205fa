import { Logger } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';
import type { EarlyClaim } from '../idempotency/idempotency.service';
import type { LimitAndClaimOutcome, LimitWindow, ScriptCachedThrottlerStorage, ThrottlerStorageRecord } from './script-cached-throttler-storage';

/**
 * Wraps the Redis-backed counter so that a Redis outage lets requests through instead of
 * failing them: Redis is a cache in this service, and a rate limit is not worth an outage.
 */
export class FailOpenThrottlerStorage implements ThrottlerStorage {
  private readonly logger = new Logger('RateLimit');
  private reportedDown = false;

  constructor(private readonly inner: ScriptCachedThrottlerStorage) {}

  /** Whether `incrementAndClaim` may be used (not on a Redis Cluster). */
  get canClaim(): boolean {
    return this.inner.canClaim;
  }

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    const record = await this.failOpen(() => this.inner.increment(key, ttl, limit, blockDuration, throttlerName));
    return record ?? { totalHits: 0, timeToExpire: 0, isBlocked: false, timeToBlockExpire: 0 };
  }

  /** Redis down: not limited and not claimed; the service's own claim then finds Redis down too. */
  async incrementAndClaim(windows: readonly LimitWindow[], claim: EarlyClaim, claimTtlMs: number): Promise<LimitAndClaimOutcome> {
    return (await this.failOpen(() => this.inner.incrementAndClaim(windows, claim, claimTtlMs))) ?? { kind: 'unavailable' };
  }

  private async failOpen<T>(command: () => Promise<T>): Promise<T | undefined> {
    try {
      const answer = await command();
      this.reportedDown = false;
      return answer;
    } catch (error) {
      if (!this.reportedDown) {
        this.logger.warn({ err: (error as Error).message }, 'rate limit store unavailable; not limiting');
        this.reportedDown = true;
      }
      return undefined;
    }
  }
}
