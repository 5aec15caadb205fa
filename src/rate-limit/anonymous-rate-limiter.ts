import { Injectable } from '@nestjs/common';
import { InjectThrottlerStorage, normalizeIp, ThrottlerStorage } from '@nestjs/throttler';
import { AppConfig } from '../config/app-config';
import { RateLimitedError } from './caller-throttler.guard';

const WINDOW_MS = 60_000;

/**
 * One budget per client address for requests that name no valid caller (401) or no route (404),
 * so that token guessing, fuzzing and scanning from one address are slowed down (ADR 0038). The
 * per-caller limits cannot count these: the auth guard refuses them before the throttler guard
 * runs, and an unknown route runs no guard at all. The address is Fastify's `request.ip`, which
 * follows X-Forwarded-For only as far as TRUST_PROXY allows; IPv6 addresses count per /64, as
 * in the per-caller guard. Counters live in Redis with the other limits and fail open with them.
 */
@Injectable()
export class AnonymousRateLimiter {
  private readonly limit: number;

  constructor(
    config: AppConfig,
    @InjectThrottlerStorage() private readonly storage: ThrottlerStorage,
  ) {
    this.limit = config.rateLimit.anonymousPerMinute;
  }

  /** Counts one anonymous request from `address`; throws RateLimitedError once over the budget. */
  async consume(address: string): Promise<void> {
    if (this.limit === 0) return;
    const key = `ratelimit:anonymous:ip:${normalizeIp(address)}`;
    const record = await this.storage.increment(key, WINDOW_MS, this.limit, WINDOW_MS, 'anonymous');
    if (record.isBlocked) throw new RateLimitedError(Math.max(1, record.timeToBlockExpire));
  }
}
