import { ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import {
  InjectThrottlerOptions,
  InjectThrottlerStorage,
  ThrottlerGuard,
  ThrottlerLimitDetail,
  type ThrottlerModuleOptions,
  type ThrottlerStorage,
} from '@nestjs/throttler';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { randomUUID } from 'node:crypto';
import type { RequestWithCaller } from '../common/auth/auth.decorators';
import { DomainError } from '../common/errors/domain-errors';
import { IDEMPOTENT_OPERATION, isWellFormedIdempotencyKey } from '../common/http/idempotency-key.decorator';
import { IdempotencyService, IdempotentOperation, IN_FLIGHT_TTL_MS } from '../idempotency/idempotency.service';
import { FailOpenThrottlerStorage } from './fail-open-throttler-storage';
import type { LimitWindow } from './script-cached-throttler-storage';

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
 *
 * A money request with a well-formed `Idempotency-Key` is counted and claimed in one Redis
 * script call (ADR 0069): the same windows, keys and 429 as any other request, and the claim
 * its service call would have made, handed over to it (IdempotencyService.adopt).
 */
@Injectable()
export class CallerThrottlerGuard extends ThrottlerGuard {
  private windows: LimitWindow[] | undefined;

  constructor(
    @InjectThrottlerOptions() options: ThrottlerModuleOptions,
    @InjectThrottlerStorage() storage: ThrottlerStorage,
    reflector: Reflector,
    private readonly idempotency: IdempotencyService,
  ) {
    super(options, storage, reflector);
  }

  override async onModuleInit(): Promise<void> {
    await super.onModuleInit();
    // Only plain fixed windows (what throttlersFor builds) are folded into the claim; anything
    // else keeps the library's path. Money handlers carry no per-route throttler overrides.
    const common = this.commonOptions;
    const fixed =
      !common.skipIf &&
      !common.ignoreUserAgents &&
      // The folded path sets no X-RateLimit-* headers on answers it lets through.
      common.setHeaders === false &&
      this.throttlers.every(
        (t) => typeof t.ttl === 'number' && typeof t.limit === 'number' && t.blockDuration === undefined && !t.skipIf && !t.ignoreUserAgents && !t.setHeaders,
      );
    if (fixed && this.throttlers.length > 0 && this.storageService instanceof FailOpenThrottlerStorage && this.storageService.canClaim) {
      this.windows = this.throttlers.map((t) => ({
        name: t.name!,
        key: '',
        ttlMs: t.ttl as number,
        limit: t.limit as number,
        blockDurationMs: t.ttl as number,
      }));
    }
  }

  override async canActivate(context: ExecutionContext): Promise<boolean> {
    const operation = this.windows && this.reflector.get<IdempotentOperation | undefined>(IDEMPOTENT_OPERATION, context.getHandler());
    if (!operation) return super.canActivate(context);
    const request = context.switchToHttp().getRequest<RequestWithCaller>();
    const key = request.headers['idempotency-key'];
    if (!request.caller || !isWellFormedIdempotencyKey(key)) return super.canActivate(context);
    const claim = this.idempotency.earlyClaimOf({ callerId: request.caller.userId, operation, key }, randomUUID());
    // A replay this process remembers needs no claim: only the limit goes to Redis.
    if (this.idempotency.remembers(claim)) return super.canActivate(context);

    const tracker = await this.getTracker(request as unknown as Record<string, unknown>);
    const windows = this.windows!.map((window) => ({ ...window, key: this.generateKey(context, tracker, window.name) }));
    const outcome = await (this.storageService as FailOpenThrottlerStorage).incrementAndClaim(windows, claim, IN_FLIGHT_TTL_MS);
    if (outcome.kind === 'limited') {
      await this.throwThrottlingException(context, {
        limit: outcome.window.limit,
        ttl: outcome.window.ttlMs,
        key: outcome.window.key,
        tracker,
        ...outcome.record,
      });
    }
    this.idempotency.adopt(request, claim, outcome.kind === 'claim' ? outcome.answer : ['no_cache']);
    return true;
  }

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
