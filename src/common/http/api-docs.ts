import { applyDecorators } from '@nestjs/common';
import { ApiHeader, ApiParam, ApiResponse, getSchemaPath } from '@nestjs/swagger';
import type { ResponseObject } from '@nestjs/swagger/dist/interfaces/open-api-spec.interface';
import { STATUS_CODES } from 'node:http';
import { PROBLEM_CONTENT_TYPE, ProblemDetailsDto } from '../errors/problem-details';
import { UUID } from './api-schema';
import { IDEMPOTENCY_KEY_HEADER, IDEMPOTENCY_KEY_SCHEMA } from './idempotency-key.decorator';

const DESCRIPTIONS: Record<number, string> = {
  400: 'Invalid input; `errors` names each field',
  401: 'Missing or malformed identity',
  402: 'Insufficient funds',
  403: 'Administrators only',
  404: 'Not found, or not yours',
  409: 'A request with this Idempotency-Key is still in flight; retry after Retry-After seconds',
  413: 'The request body is larger than 16 KiB',
  415: 'The request body is not application/json',
  422: 'This Idempotency-Key was used with a different payload',
  429: 'Too many requests; retry after Retry-After seconds',
  500: 'An unexpected error; the service logs name the cause under the request id',
  503: 'A dependency is unavailable; retry after Retry-After seconds (with the same Idempotency-Key, where one was sent)',
};

export interface ProblemExample {
  status: number;
  /** The `code` sent, when the example's name is more specific than the code. */
  code?: string;
  detail: string;
  errors?: { field: string; message: string }[];
}

/**
 * Every stable error code an endpoint may name in `ApiProblems`, with the body a client sees.
 * The detail strings are the ones the service sends, so the examples double as a catalogue.
 */
export const PROBLEM_EXAMPLES = {
  VALIDATION_FAILED: {
    status: 400,
    detail: 'Invalid request: amount',
    errors: [{ field: 'amount', message: 'amount must be an integer number of cents' }],
  },
  IDEMPOTENCY_KEY_MISSING: {
    status: 400,
    code: 'VALIDATION_FAILED',
    detail: 'Invalid request: Idempotency-Key',
    errors: [
      {
        field: 'Idempotency-Key',
        message: 'is required; it must be 1 to 255 characters of [A-Za-z0-9_.:-] (a UUID is recommended)',
      },
    ],
  },
  INVALID_JSON: { status: 400, code: 'BAD_REQUEST', detail: 'The request body is not valid JSON' },
  SELF_PURCHASE: { status: 400, detail: 'buyerWalletId and authorWalletId must be different wallets' },
  AUTHOR_WALLET_NOT_FOUND: { status: 400, detail: 'authorWalletId does not name an existing wallet' },
  UNAUTHENTICATED: { status: 401, detail: 'X-User-Id must be a UUID' },
  METRICS_TOKEN_REQUIRED: {
    status: 401,
    code: 'UNAUTHENTICATED',
    detail: 'GET /metrics requires Authorization: Bearer <METRICS_TOKEN>',
  },
  INSUFFICIENT_FUNDS: { status: 402, detail: 'The wallet balance does not cover this amount' },
  FORBIDDEN: { status: 403, detail: 'This operation is for administrators' },
  WALLET_NOT_FOUND: { status: 404, detail: 'Wallet not found' },
  PURCHASE_NOT_FOUND: { status: 404, detail: 'Purchase not found' },
  WEBHOOK_ENDPOINT_NOT_FOUND: { status: 404, detail: 'Webhook endpoint not found' },
  EVENT_NOT_FOUND: { status: 404, detail: 'Event not found' },
  ROYALTY_TERMS_NOT_FOUND: { status: 404, detail: 'Royalty terms not found' },
  WEBHOOK_URL_REFUSED: {
    status: 400,
    code: 'VALIDATION_FAILED',
    detail: 'Invalid request: url',
    errors: [{ field: 'url', message: 'url resolves to 10.0.0.7, a loopback, private, link-local or reserved address' }],
  },
  REFUND_EXCEEDS_REMAINING: {
    status: 422,
    detail: 'amount is more than what is left to refund on this purchase (29 cents)',
  },
  NOT_FOUND: { status: 404, detail: 'Not found' },
  WITHDRAWAL_NOT_FOUND: { status: 404, detail: 'Withdrawal not found' },
  PURCHASE_NOT_AUTHORIZED: { status: 409, detail: 'The purchase is not authorized: it is voided' },
  CAPTURE_EXCEEDS_AUTHORIZED: { status: 422, detail: 'amount is more than the authorized price (1999 cents)' },
  WITHDRAWAL_NOT_PENDING: { status: 409, detail: 'The withdrawal is not pending: it is paid' },
  PAYOUT_BELOW_MINIMUM: { status: 422, detail: 'amount is below the payout minimum of 1000 cents' },
  IDEMPOTENCY_KEY_IN_FLIGHT: { status: 409, detail: 'A request with this Idempotency-Key is still being processed' },
  IDEMPOTENCY_KEY_REUSED: {
    status: 422,
    detail: 'This Idempotency-Key was already used with a different request payload',
  },
  PAYLOAD_TOO_LARGE: { status: 413, detail: 'The request body is too large' },
  UNSUPPORTED_MEDIA_TYPE: { status: 415, detail: 'Unsupported Content-Type; send application/json' },
  RATE_LIMITED: { status: 429, detail: 'Too many requests from this caller; retry after the Retry-After delay' },
  INTERNAL_ERROR: { status: 500, detail: 'Internal server error' },
  SERVICE_UNAVAILABLE: {
    status: 503,
    detail: 'The database is unavailable; retry with the same Idempotency-Key',
  },
} satisfies Record<string, ProblemExample>;

export type ProblemCode = keyof typeof PROBLEM_EXAMPLES;

/** The example shown when an endpoint names only a status. */
const DEFAULT_CODE_BY_STATUS: Record<number, ProblemCode> = {
  400: 'VALIDATION_FAILED',
  401: 'UNAUTHENTICATED',
  402: 'INSUFFICIENT_FUNDS',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  409: 'IDEMPOTENCY_KEY_IN_FLIGHT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  422: 'IDEMPOTENCY_KEY_REUSED',
  429: 'RATE_LIMITED',
  500: 'INTERNAL_ERROR',
  503: 'SERVICE_UNAVAILABLE',
};

export function exampleBody(code: ProblemCode): Record<string, unknown> {
  return problemBody(PROBLEM_EXAMPLES[code], code);
}

/** A problem body as the service renders it (ProblemDetailsFilter), for examples. */
export function problemBody(example: ProblemExample, code: string): Record<string, unknown> {
  const sent = example.code ?? code;
  return {
    type: `urn:problem:${sent.toLowerCase().replace(/_/g, '-')}`,
    title: STATUS_CODES[example.status] ?? 'Error',
    status: example.status,
    detail: example.detail,
    code: sent,
    requestId: '5f0c6a5e-3f5b-4c41-9a5e-2f4f5b1c0d7e',
    ...(example.errors ? { errors: example.errors } : {}),
  };
}

/**
 * Documents the problem-details responses an endpoint can return. Pass statuses (each gets a
 * typical example) or error codes (grouped by their status, one named example each), e.g.
 * `ApiProblems(401)` or `ApiProblems('SELF_PURCHASE', 'INSUFFICIENT_FUNDS', 409)`.
 */
export function ApiProblems(...items: (number | ProblemCode)[]): MethodDecorator & ClassDecorator {
  const codesByStatus = new Map<number, ProblemCode[]>();
  for (const item of items) {
    const codes: ProblemCode[] = typeof item === 'number' ? [DEFAULT_CODE_BY_STATUS[item] ?? 'NOT_FOUND'] : [item];
    const status = typeof item === 'number' ? item : PROBLEM_EXAMPLES[item].status;
    codesByStatus.set(status, [...(codesByStatus.get(status) ?? []), ...codes]);
  }
  return applyDecorators(
    ...[...codesByStatus].map(([status, codes]) => ApiResponse({ status, ...problemResponse(status, codes) })),
  );
}

/**
 * The response object of one problem status with a named example per code. Headers are added for
 * every operation at once when the document is completed (`completeOpenApiDocument`).
 */
export function problemResponse(status: number, codes: ProblemCode[]): ResponseObject {
  return {
    description: DESCRIPTIONS[status] ?? STATUS_CODES[status] ?? 'Error',
    content: {
      [PROBLEM_CONTENT_TYPE]: {
        schema: { $ref: getSchemaPath(ProblemDetailsDto) },
        examples: Object.fromEntries([...new Set(codes)].map((code) => [code, { summary: code, value: exampleBody(code) }])),
      },
    },
  };
}

/** A problem status's typical code, for statuses an operation gets by default. */
export function defaultProblemCode(status: number): ProblemCode {
  return DEFAULT_CODE_BY_STATUS[status] ?? 'NOT_FOUND';
}

/** A path parameter that is a UUID, as `UuidParamPipe` checks it. */
export function ApiUuidParam(name: string, description: string): MethodDecorator {
  return ApiParam({ name, description, schema: { ...UUID, type: 'string' } });
}

/** Response headers of an operation that honours `Idempotency-Key`. */
export const REPLAY_RESPONSE_HEADERS = {
  'Idempotent-Replayed': {
    description: 'Present (`true`) when this body replays the first result for the same Idempotency-Key',
    schema: { type: 'string', enum: ['true'] },
  },
};

export function ApiIdempotencyKey({ required }: { required: boolean }): MethodDecorator {
  return applyDecorators(
    ApiHeader({
      name: IDEMPOTENCY_KEY_HEADER,
      required,
      schema: { ...IDEMPOTENCY_KEY_SCHEMA },
      description:
        '1 to 255 characters of [A-Za-z0-9_.:-], chosen by the client (a UUID is recommended). ' +
        'A retry with the same key and payload replays the first result with `Idempotent-Replayed: true`.',
      example: '7d0e2f9c-4b1a-4f3e-9c2d-1a2b3c4d5e6f',
    }),
  );
}
