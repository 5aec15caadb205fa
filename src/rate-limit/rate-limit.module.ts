import { ScriptCachedThrottlerStorage } from './script-cached-throttler-storage';
import { Module } from '@nestjs/common';
import { ThrottlerModule, ThrottlerOptions } from '@nestjs/throttler';
import { AppConfig } from '../config/app-config';
import { IdempotencyModule } from '../idempotency/idempotency.module';
import type { RedisClient } from '../redis/redis-connection.factory';
import { REDIS_CACHE } from '../redis/redis.module';
import { AnonymousRateLimiter } from './anonymous-rate-limiter';
import { CallerThrottlerGuard } from './caller-throttler.guard';
import { FailOpenThrottlerStorage } from './fail-open-throttler-storage';

/** Windows with a limit of 0 are left out, which also saves their Redis round trip. */
export function throttlersFor(config: AppConfig): ThrottlerOptions[] {
  const windows: ThrottlerOptions[] = [
    { name: 'second', ttl: 1_000, limit: config.rateLimit.perSecond },
    { name: 'minute', ttl: 60_000, limit: config.rateLimit.perMinute },
  ];
  return windows.filter((window) => (window.limit as number) > 0);
}

/**
 * Per-caller rate limits counted in Redis (on the shared cache connection, under the service's
 * key prefix), so the limit holds across any number of instances. Health and metrics are
 * exempt (`@SkipThrottle()` on their controllers). Requests without a caller and requests for
 * unknown routes count per client address instead (AnonymousRateLimiter, ADR 0038).
 */
@Module({
  imports: [
    IdempotencyModule,
    ThrottlerModule.forRootAsync({
      inject: [AppConfig, REDIS_CACHE],
      useFactory: (config: AppConfig, redis: RedisClient) => ({
        throttlers: throttlersFor(config),
        // 429 carries Retry-After; per-window X-RateLimit-* headers are left off.
        setHeaders: false,
        storage: new FailOpenThrottlerStorage(new ScriptCachedThrottlerStorage(redis)),
      }),
    }),
  ],
  providers: [CallerThrottlerGuard, AnonymousRateLimiter],
  exports: [CallerThrottlerGuard, AnonymousRateLimiter, ThrottlerModule],
})
export class RateLimitModule {}
