import { Logger } from '@nestjs/common';
import type { ThrottlerStorage } from '@nestjs/throttler';

type ThrottlerStorageRecord = Awaited<ReturnType<ThrottlerStorage['increment']>>;

/**
 * Wraps the Redis-backed counter so that a Redis outage lets requests through instead of
 * failing them: Redis is a cache in this service, and a rate limit is not worth an outage.
 */
export class FailOpenThrottlerStorage implements ThrottlerStorage {
  private readonly logger = new Logger('RateLimit');
  private reportedDown = false;

  constructor(private readonly inner: ThrottlerStorage) {}

  async increment(
    key: string,
    ttl: number,
    limit: number,
    blockDuration: number,
    throttlerName: string,
  ): Promise<ThrottlerStorageRecord> {
    try {
      const record = await this.inner.increment(key, ttl, limit, blockDuration, throttlerName);
      this.reportedDown = false;
      return record;
    } catch (error) {
      if (!this.reportedDown) {
        this.logger.warn({ err: (error as Error).message }, 'rate limit store unavailable; not limiting');
        this.reportedDown = true;
      }
      return { totalHits: 0, timeToExpire: 0, isBlocked: false, timeToBlockExpire: 0 };
    }
  }
}
