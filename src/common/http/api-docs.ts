import { applyDecorators } from '@nestjs/common';
import { ApiHeader, ApiResponse } from '@nestjs/swagger';
import { ProblemDetailsDto } from '../errors/problem-details';
import { IDEMPOTENCY_KEY_HEADER } from './idempotency-key.decorator';

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input; `errors` names each field',
  401: 'Missing or malformed identity',
  402: 'Insufficient funds',
  403: 'Administrators only',
  404: 'Not found, or not yours',
  409: 'A request with this Idempotency-Key is still in flight; retry after Retry-After seconds',
  422: 'This Idempotency-Key was used with a different payload',
  503: 'A dependency is unavailable; retry with the same Idempotency-Key',
};

/** Documents the problem-details responses an endpoint can return. */
export function ApiProblems(...statuses: number[]): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...statuses.map((status) =>
      ApiResponse({ status, description: DESCRIPTIONS[status] ?? 'Error', type: ProblemDetailsDto }),
    ),
  );
}

export function ApiIdempotencyKey({ required }: { required: boolean }): MethodDecorator {
  return applyDecorators(
    ApiHeader({
      name: IDEMPOTENCY_KEY_HEADER,
      required,
      description:
        '1 to 255 characters of [A-Za-z0-9_.:-], chosen by the client (a UUID is recommended). ' +
        'A retry with the same key and payload replays the first result with `Idempotent-Replayed: true`.',
      example: '7d0e2f9c-4b1a-4f3e-9c2d-1a2b3c4d5e6f',
    }),
  );
}
