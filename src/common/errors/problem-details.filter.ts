import { ArgumentsHost, Catch, ExceptionFilter, HttpException, HttpStatus, Logger } from '@nestjs/common';
import { STATUS_CODES } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { isDatabaseUnavailableError } from '../../db/postgres-errors';
import { DomainError, ErrorKind } from './domain-errors';
import { PROBLEM_CONTENT_TYPE, ProblemDetailsDto } from './problem-details';

const STATUS_BY_KIND: Record<ErrorKind, number> = {
  bad_request: 400,
  unauthenticated: 401,
  payment_required: 402,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  unprocessable: 422,
  rate_limited: 429,
  unavailable: 503,
};

interface Rendered {
  status: number;
  code: string;
  detail: string;
  errors?: ProblemDetailsDto['errors'];
  retryAfterSeconds?: number;
  details?: Record<string, unknown>;
}

/**
 * Renders every error as problem details carrying the request id. Anything it does not
 * recognise becomes a plain 500 whose cause goes to the log, never to the client.
 */
@Catch()
export class ProblemDetailsFilter implements ExceptionFilter {
  private readonly logger = new Logger('Errors');

  catch(exception: unknown, host: ArgumentsHost): void {
    const context = host.switchToHttp();
    const request = context.getRequest<FastifyRequest>();
    const reply = context.getResponse<FastifyReply>();
    const rendered = this.render(exception);

    if (rendered.status >= 500 && rendered.code === 'INTERNAL_ERROR') {
      this.logger.error({ err: exception, requestId: request.id }, 'unhandled error');
    }

    const body: ProblemDetailsDto & Record<string, unknown> = {
      type: `urn:problem:${rendered.code.toLowerCase().replace(/_/g, '-')}`,
      title: STATUS_CODES[rendered.status] ?? 'Error',
      status: rendered.status,
      detail: rendered.detail,
      code: rendered.code,
      requestId: String(request.id),
      instance: request.url.split('?')[0],
      ...(rendered.errors ? { errors: rendered.errors } : {}),
      ...(rendered.details ?? {}),
    };
    if (rendered.retryAfterSeconds !== undefined) reply.header('Retry-After', String(rendered.retryAfterSeconds));
    reply.header('X-Request-Id', String(request.id));
    void reply.status(rendered.status).type(PROBLEM_CONTENT_TYPE).send(body);
  }

  private render(exception: unknown): Rendered {
    if (exception instanceof DomainError) {
      return {
        status: STATUS_BY_KIND[exception.kind],
        code: exception.code,
        detail: exception.message,
        errors: exception.extra.errors,
        retryAfterSeconds: exception.extra.retryAfterSeconds,
        details: exception.extra.details,
      };
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      return { status, code: httpCode(status), detail: httpDetail(exception) };
    }
    // Errors raised by Fastify itself before a route runs (bad JSON, oversized body, media type).
    const fastifyError = exception as { statusCode?: number; code?: string; message?: string };
    if (
      typeof fastifyError.statusCode === 'number' &&
      fastifyError.statusCode >= 400 &&
      fastifyError.statusCode < 500 &&
      typeof fastifyError.code === 'string' &&
      fastifyError.code.startsWith('FST_')
    ) {
      return {
        status: fastifyError.statusCode,
        code: httpCode(fastifyError.statusCode),
        detail: FASTIFY_DETAILS[fastifyError.code] ?? STATUS_CODES[fastifyError.statusCode] ?? 'Bad request',
      };
    }
    if (isDatabaseUnavailableError(exception)) {
      return {
        status: HttpStatus.SERVICE_UNAVAILABLE,
        code: 'SERVICE_UNAVAILABLE',
        detail: 'The database is unavailable; retry with the same Idempotency-Key',
        retryAfterSeconds: 1,
      };
    }
    return { status: HttpStatus.INTERNAL_SERVER_ERROR, code: 'INTERNAL_ERROR', detail: 'Internal server error' };
  }
}

const FASTIFY_DETAILS: Record<string, string> = {
  FST_ERR_CTP_INVALID_JSON_BODY: 'The request body is not valid JSON',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'The request body is empty but Content-Type is application/json',
  FST_ERR_CTP_BODY_TOO_LARGE: 'The request body is too large',
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'Unsupported Content-Type; send application/json',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'Content-Length does not match the body',
};

function httpCode(status: number): string {
  return (STATUS_CODES[status] ?? 'ERROR').toUpperCase().replace(/[^A-Z0-9]+/g, '_');
}

function httpDetail(exception: HttpException): string {
  const response = exception.getResponse();
  if (typeof response === 'string') return response;
  const message = (response as { message?: unknown }).message;
  if (typeof message === 'string') return message;
  if (Array.isArray(message)) return message.join('; ');
  return exception.message;
}
