import { STATUS_CODES } from 'node:http';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { setSecurityHeaders } from '../http/security-headers';
import { PROBLEM_CONTENT_TYPE } from './problem-details';

const DETAILS: Record<string, string> = {
  FST_ERR_BAD_URL: 'The URL is not valid',
  FST_ERR_MAX_PARAM_LENGTH: 'A path parameter is too long',
};

/**
 * Fastify's `frameworkErrors`: the router rejects some URLs (a malformed escape, an overlong path
 * parameter) before any Nest code runs. Without this they would get Fastify's own JSON, which
 * echoes the URL back; with it they get the same problem details as every other error. The
 * router answers before any `onRequest` hook runs, so the security headers are set here too.
 */
export function renderFrameworkError(
  error: { code?: string; statusCode?: number },
  request: FastifyRequest,
  reply: FastifyReply,
): void {
  const status = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
  const code = (STATUS_CODES[status] ?? 'Bad Request').toUpperCase().replace(/[^A-Z0-9]+/g, '_');
  setSecurityHeaders(request.raw, reply.raw);
  void reply
    .status(status)
    .header('X-Request-Id', String(request.id))
    .type(PROBLEM_CONTENT_TYPE)
    .send({
      type: `urn:problem:${code.toLowerCase().replace(/_/g, '-')}`,
      title: STATUS_CODES[status] ?? 'Error',
      status,
      detail: DETAILS[error.code ?? ''] ?? 'The request could not be routed',
      code,
      requestId: String(request.id),
    });
}
