import { ExecutionContext, Injectable } from '@nestjs/common';
import { ThrottlerGuard, ThrottlerLimitDetail } from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { RequestWithCaller } from '../common/auth/auth.decorators';
import { DomainError } from '../common/errors/domain-errors';

export class RateLimitedError extends DomainError {
  constructor(retryAfterSeconds: number) {
    super('rate_limited', 'RATE_LIMITED', 'Too many requests from this caller; retry after the Retry-After delay', {
      retryAfterSeconds,
    });
  }
}

/** Probes and scrapes must keep working while a caller is being limited. */
const EXEMPT_ROUTE = /^\/(health|metrics)(\/|$)/;

/**
 * Per-caller limits. Runs after the auth guard, so an authenticated request counts against its
 * user (whichever instance serves it); anything without a caller counts against its address.
 */
@Injectable()
export class CallerThrottlerGuard extends ThrottlerGuard {
  protected override async shouldSkip(context: ExecutionContext): Promise<boolean> {
    const request = context.switchToHttp().getRequest<FastifyRequest>();
    return EXEMPT_ROUTE.test(request.routeOptions.url ?? request.url);
  }

  protected override async getTracker(request: Record<string, unknown>): Promise<string> {
    const caller = (request as { caller?: RequestWithCaller['caller'] }).caller;
    if (caller) return `user:${caller.userId}`;
    return `ip:${await super.getTracker(request)}`;
  }

  /** One budget per caller for the whole API, not one per route. */
  protected override generateKey(_context: ExecutionContext, tracker: string, name: string): string {
    return `ratelimit:${name}:${tracker}`;
  }

  /**
   * The 429 says which limit was hit and when it lets requests through again, in the IETF draft's
   * RateLimit-* headers beside Retry-After (documented on every limited operation, ADR 0043).
   */
  protected override async throwThrottlingException(
    context: ExecutionContext,
    detail: ThrottlerLimitDetail,
  ): Promise<void> {
    const retryAfterSeconds = Math.max(1, detail.timeToBlockExpire);
    void context
      .switchToHttp()
      .getResponse<FastifyReply>()
      .header('RateLimit-Limit', String(detail.limit))
      .header('RateLimit-Remaining', '0')
      .header('RateLimit-Reset', String(retryAfterSeconds));
    throw new RateLimitedError(retryAfterSeconds);
  }
}
