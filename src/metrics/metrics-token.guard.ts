import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { createHash, timingSafeEqual } from 'node:crypto';
import { AppConfig } from '../config/app-config';
import { UnauthenticatedError } from '../common/errors/domain-errors';

/** `Bearer <token>`, the scheme case-insensitive and surrounding spaces tolerated (RFC 7235). */
const BEARER = /^\s*bearer\s+(\S+)\s*$/i;

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest();
}

/**
 * With `METRICS_TOKEN` set, `GET /metrics` answers only a scraper that sends it as a bearer
 * token; anyone else gets 401. The comparison is of fixed-length digests in constant time, so
 * neither the token's content nor its length leaks through timing.
 */
@Injectable()
export class MetricsTokenGuard implements CanActivate {
  private readonly expected: Buffer | undefined;

  constructor(config: AppConfig) {
    this.expected = config.metricsToken === undefined ? undefined : digest(config.metricsToken);
  }

  canActivate(context: ExecutionContext): boolean {
    if (this.expected === undefined) return true;
    const header = context.switchToHttp().getRequest<FastifyRequest>().headers.authorization;
    const token = typeof header === 'string' ? BEARER.exec(header)?.[1] : undefined;
    if (token === undefined || !timingSafeEqual(digest(token), this.expected)) {
      throw new UnauthenticatedError('GET /metrics requires Authorization: Bearer <METRICS_TOKEN>');
    }
    return true;
  }
}
