import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import { RequestValidationError } from '../errors/domain-errors';

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
const IDEMPOTENCY_KEY = /^[A-Za-z0-9_.:-]{1,255}$/;

/** The key's rule as an OpenAPI schema, for the header and for the purchase that echoes it. */
export const IDEMPOTENCY_KEY_SCHEMA = {
  type: 'string',
  minLength: 1,
  maxLength: 255,
  pattern: IDEMPOTENCY_KEY.source,
} as const;
const FORMAT = 'must be 1 to 255 characters of [A-Za-z0-9_.:-] (a UUID is recommended)';

function read(context: ExecutionContext, required: boolean): string | undefined {
  const value = context.switchToHttp().getRequest<FastifyRequest>().headers['idempotency-key'];
  if (value === undefined) {
    if (!required) return undefined;
    throw new RequestValidationError([{ field: IDEMPOTENCY_KEY_HEADER, message: `is required; it ${FORMAT}` }]);
  }
  // Repeated headers arrive joined with ", ", which the pattern rejects.
  if (typeof value !== 'string' || !IDEMPOTENCY_KEY.test(value)) {
    throw new RequestValidationError([{ field: IDEMPOTENCY_KEY_HEADER, message: FORMAT }]);
  }
  return value;
}

/** The validated `Idempotency-Key` header; 400 when missing or malformed. */
export const RequiredIdempotencyKey = createParamDecorator((_: unknown, context: ExecutionContext) =>
  read(context, true),
);

/** The validated `Idempotency-Key` header if present; 400 only when malformed. */
export const OptionalIdempotencyKey = createParamDecorator((_: unknown, context: ExecutionContext) =>
  read(context, false),
);
