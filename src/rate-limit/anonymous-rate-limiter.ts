import { Injectable } from '@nestjs/common';
import { InjectThrottlerStorage, normalizeIp, ThrottlerStorage } from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';
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

  /**
   * Counts one anonymous request from the request's client address; once over the budget, sets
   * the RateLimit-* headers on `reply` (as the per-caller guard does) and throws RateLimitedError.
   */
  async consume(request: FastifyRequest, reply: FastifyReply): Promise<void> {
    if (this.limit === 0) return;
    const key = `ratelimit:anonymous:ip:${normalizeIp(request.ip)}`;
    const record = await this.storage.increment(key, WINDOW_MS, this.limit, WINDOW_MS, 'anonymous');
    if (!record.isBlocked) return;
    const retryAfterSeconds = Math.max(1, record.timeToBlockExpire);
    void reply
      .header('RateLimit-Limit', String(this.limit))
      .header('RateLimit-Remaining', '0')
      .header('RateLimit-Reset', String(retryAfterSeconds));
    throw new RateLimitedError(retryAfterSeconds);
  }
}
