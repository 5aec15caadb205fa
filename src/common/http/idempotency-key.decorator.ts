import { createParamDecorator, ExecutionContext, SetMetadata } from '@nestjs/common';
import type { FastifyRequest } from 'fastify';
import type { IdempotentOperation as Operation } from '../../idempotency/idempotency.service';
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
/** Whether an `Idempotency-Key` header value is one the decorators below accept. */
export function isWellFormedIdempotencyKey(value: unknown): value is string {
  return typeof value === 'string' && IDEMPOTENCY_KEY.test(value);
}

export const IDEMPOTENT_OPERATION = 'idempotentOperation';

/**
 * The idempotency scope a handler's service call uses for its `Idempotency-Key` (the operation
 * passed to IdempotencyService.execute): the rate limiter makes the claim of that scope in the
 * same Redis call as the limit (ADR 0069). A wrong name costs a round trip, never correctness.
 */
export const IdempotentOperation = (operation: Operation) => SetMetadata(IDEMPOTENT_OPERATION, operation);

const FORMAT = 'must be 1 to 255 characters of [A-Za-z0-9_.:-] (a UUID is recommended)';

function read(context: ExecutionContext, required: boolean): string | undefined {
  const value = context.switchToHttp().getRequest<FastifyRequest>().headers['idempotency-key'];
  if (value === undefined) {
    if (!required) return undefined;
    throw new RequestValidationError([{ field: IDEMPOTENCY_KEY_HEADER, message: `is required; it ${FORMAT}` }]);
  }
  // Repeated headers arrive joined with ", ", which the pattern rejects.
  if (!isWellFormedIdempotencyKey(value)) {
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
