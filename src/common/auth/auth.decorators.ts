import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { UnauthenticatedError } from '../errors/domain-errors';
import { Caller } from './caller';

export const IS_PUBLIC = 'auth:isPublic';

/** Marks a route that needs no identity (health, metrics). */
export const Public = () => SetMetadata(IS_PUBLIC, true);

export type RequestWithCaller = FastifyRequest & { caller?: Caller };

/** The authenticated caller of the current request. */
export const CurrentCaller = createParamDecorator((_data: unknown, context: ExecutionContext): Caller => {
  const caller = context.switchToHttp().getRequest<RequestWithCaller>().caller;
  if (!caller) throw new UnauthenticatedError();
  return caller;
});
