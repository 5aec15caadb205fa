import { CanActivate, ExecutionContext, Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import type { FastifyReply } from 'fastify';
import { AnonymousRateLimiter } from '../../rate-limit/anonymous-rate-limiter';
import { UnauthenticatedError } from '../errors/domain-errors';
import { IS_PUBLIC, RequestWithCaller } from './auth.decorators';
import { IdentityResolver } from './identity-resolver';

/**
 * Establishes the caller on every non-public route (see IdentityResolver for the rules). A
 * request it refuses counts against its client address's anonymous budget, and once that is
 * spent the answer is 429 instead of 401 (ADR 0038).
 */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly identity: IdentityResolver,
    private readonly anonymousLimit: AnonymousRateLimiter,
  ) {}

  async canActivate(context: ExecutionContext): Promise<boolean> {
    const isPublic = this.reflector.getAllAndOverride<boolean>(IS_PUBLIC, [context.getHandler(), context.getClass()]);
    if (isPublic) return true;
    const request = context.switchToHttp().getRequest<RequestWithCaller>();
    try {
      request.caller = await this.identity.resolve(request.headers);
    } catch (error) {
      if (error instanceof UnauthenticatedError) {
        await this.anonymousLimit.consume(request, context.switchToHttp().getResponse<FastifyReply>());
      }
      throw error;
    }
    return true;
  }
}
