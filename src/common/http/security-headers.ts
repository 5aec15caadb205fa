import type { IncomingMessage, ServerResponse } from 'node:http';
import helmet from 'helmet';

/**
 * Strict by default; Swagger UI at /api needs inline scripts and styles for its bootstrap code
 * and data: images for its icons, nothing from other hosts.
 */
const CONTENT_SECURITY_POLICY = {
  defaultSrc: ["'self'"],
  scriptSrc: ["'self'", "'unsafe-inline'"],
  styleSrc: ["'self'", "'unsafe-inline'"],
  imgSrc: ["'self'", 'data:'],
  connectSrc: ["'self'"],
  frameAncestors: ["'none'"],
  objectSrc: ["'none'"],
  // Helmet's default would make browsers rewrite Swagger UI's calls to https on any plain-HTTP
  // host but localhost; TLS is the gateway's business (HSTS still applies where it is used).
  upgradeInsecureRequests: null,
};

// helmet's middleware, built once: the Fastify plugin rebuilds it (and re-parses the policy)
// on every request, which cost about 5% of the CPU of a replayed purchase.
const helmetMiddleware = helmet({ contentSecurityPolicy: { directives: CONTENT_SECURITY_POLICY } });

/**
 * The headers every response carries, whoever answers it: the `onRequest` hook for routed
 * requests and the router's own error handler (`renderFrameworkError`) for URLs that never reach
 * a route. Responses name balances and purchases of one caller, so no cache may keep them.
 */
export function setSecurityHeaders(request: IncomingMessage, response: ServerResponse): void {
  // helmet's middleware is synchronous: it sets the headers and calls back before returning.
  helmetMiddleware(request, response, () => undefined);
  response.setHeader('Cache-Control', 'no-store');
}
