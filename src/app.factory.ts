import { INestApplication, INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { AppModule } from './app.module';
import { AppConfig } from './config/app-config';
import { renderFrameworkError } from './common/errors/framework-errors';
import { ProblemDetailsFilter } from './common/errors/problem-details.filter';
import { AnonymousRateLimiter } from './rate-limit/anonymous-rate-limiter';
import { useBoundedJsonParser } from './common/http/json-body';
import { createRootLogger, logRequests, PinoLoggerService } from './common/logging/pino-logger';
import { requestIdFor } from './common/http/request-id';
import { setSecurityHeaders } from './common/http/security-headers';
import { MetricsService } from './metrics/metrics.service';
import { IdempotencyService } from './idempotency/idempotency.service';
import { createValidationPipe } from './common/http/validation';
import { setupSwagger } from './swagger';
import type { Tracing } from './tracing/tracing.types';

/** Request bodies are small JSON objects; anything larger is refused before parsing. */
const BODY_LIMIT_BYTES = 16 * 1024;

/**
 * How often Node looks for connections past the headers and request timeouts. Its default of
 * 30 s would let a slow client keep its connection up to 30 s longer than the timeouts say.
 */
const TIMEOUT_CHECK_INTERVAL_MS = 500;

/** The Fastify adapter; `http` comes from the configuration (the OpenAPI script needs none). */
export function createFastifyAdapter(http?: AppConfig['http']): FastifyAdapter {
  return new FastifyAdapter({
    genReqId: requestIdFor,
    bodyLimit: BODY_LIMIT_BYTES,
    logger: false,
    // Keep-alive sockets would hold a draining server open until they time out.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
    frameworkErrors: renderFrameworkError,
    ...(http
      ? {
          // Slow clients (ADR 0038): the headers must arrive within headersTimeoutMs and the
          // whole request, body included, within requestTimeoutMs, or Node answers 408 and
          // closes the connection. Time spent answering does not count.
          requestTimeout: http.requestTimeoutMs,
          http: { headersTimeout: http.headersTimeoutMs, connectionsCheckingInterval: TIMEOUT_CHECK_INTERVAL_MS },
          // The client address (rate limits, logs) is X-Forwarded-For's only from trusted proxies.
          trustProxy: typeof http.trustProxy === 'object' ? [...http.trustProxy] : http.trustProxy,
        }
      : {}),
  });
}

/** The process's root logger: format from `LOG_FORMAT`, trace ids on every line when tracing is on. */
export function createAppLogger(config: AppConfig, tracing: Tracing | null) {
  return createRootLogger({
    level: config.logLevel,
    format: config.logFormat,
    nodeEnv: config.nodeEnv,
    ...(tracing ? { mixin: () => tracing.logFields() } : {}),
  });
}

/**
 * Builds the HTTP application (roles `api` and `all`) without listening. `tracing` is the
 * running tracer when `OTEL_EXPORTER_OTLP_ENDPOINT` is set (see `main.ts`), else null.
 */
export async function createHttpApp(config: AppConfig, tracing: Tracing | null = null): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.register(config, tracing), createFastifyAdapter(config.http), {
    bufferLogs: true,
    // Nest would add a form-urlencoded parser; the API speaks JSON only (Fastify's own parser).
    bodyParser: false,
  });
  const logger = createAppLogger(config, tracing);
  app.useLogger(new PinoLoggerService(logger));
  app.useGlobalPipes(createValidationPipe());
  // Browsers may call the API only from configured origins; without any, no CORS headers at all.
  if (config.corsOrigins.length > 0) {
    app.enableCors({
      origin: [...config.corsOrigins],
      methods: ['GET', 'POST'],
      allowedHeaders: ['Authorization', 'Content-Type', 'Idempotency-Key', 'X-Request-Id', 'X-User-Id'],
      exposedHeaders: ['X-Request-Id', 'Idempotent-Replayed', 'Retry-After', 'Location'],
      maxAge: 600,
    });
  }
  const fastify = app.getHttpAdapter().getInstance();
  fastify.addHook('onRequest', (request, reply, done) => {
    setSecurityHeaders(request.raw, reply.raw);
    done();
  });
  if (tracing) {
    // Fastify has routed the request by now: the server span takes the route template's name.
    fastify.addHook('onRequest', (request, _reply, done) => {
      tracing.nameHttpSpan(request.method, request.routeOptions.url ?? 'unmatched');
      done();
    });
  }
  useBoundedJsonParser(fastify);
  // Any other media type, text/plain included, is a 415 rather than a string handed to validation.
  fastify.removeContentTypeParser('text/plain');
  fastify.addHook('onRequest', async (request, reply) => {
    reply.header('X-Request-Id', request.id);
  });
  // A keep-alive socket that goes idle after the drain began would hold the server open until
  // its keep-alive timeout (Node closes idle sockets only once, when closing starts).
  let draining = false;
  fastify.addHook('preClose', async () => {
    draining = true;
  });
  fastify.addHook('onSend', async (_request, reply) => {
    if (draining) void reply.header('Connection', 'close');
  });
  // Unknown routes run no guard; they count against the client address's anonymous budget here.
  const anonymousLimit = app.get(AnonymousRateLimiter);
  const problems = new ProblemDetailsFilter();
  fastify.addHook('onRequest', async (request, reply) => {
    if (!request.is404) return;
    try {
      await anonymousLimit.consume(request, reply);
    } catch (error) {
      problems.catch(error, new ExecutionContextHost([request, reply]));
      return reply;
    }
  });
  // A money request's idempotency claim, made with its rate limit, is released before its
  // answer leaves if the request failed before its service call took the claim (ADR 0069).
  const idempotency = app.get(IdempotencyService);
  fastify.addHook('onSend', (request, _reply, payload, done) => {
    if (!idempotency.hasEarlyClaim(request)) return done(null, payload);
    void idempotency.releaseUnadopted(request).then(() => done(null, payload));
  });
  logRequests(fastify, logger);
  const metrics = app.get(MetricsService);
  fastify.addHook('onResponse', async (request, reply) => {
    // The route template (`/wallets/:walletId`), never the raw URL: ids would explode the label set.
    metrics.httpRequestDuration.observe(
      { method: request.method, route: request.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) },
      reply.elapsedTime / 1000,
    );
  });
  if (config.swaggerEnabled) setupSwagger(app);
  return app;
}

/** Builds the worker-only process: queues and schedules, no HTTP. */
export async function createWorkerContext(config: AppConfig, tracing: Tracing | null = null): Promise<INestApplicationContext> {
  const app = await NestFactory.createApplicationContext(AppModule.register(config, tracing), { bufferLogs: true });
  app.useLogger(new PinoLoggerService(createAppLogger(config, tracing)));
  return app;
}

export type App = INestApplication | INestApplicationContext;
