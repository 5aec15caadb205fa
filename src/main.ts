import { Logger } from '@nestjs/common';
import cluster from 'node:cluster';
import * as v8 from 'node:v8';
// Types only: the application itself is loaded after tracing has started (see below).
import type { App } from './app.factory';
import { runClusterPrimary } from './cluster';
import { createRootLogger, PinoLoggerService } from './common/logging/pino-logger';
import { AppConfig, ConfigValidationError, loadConfigFromProcess } from './config/app-config';
import { prepareDatabase } from './db/migrate';
import type { Tracing } from './tracing/tracing.types';

async function bootstrap(): Promise<void> {
  let config: AppConfig;
  try {
    config = loadConfigFromProcess();
  } catch (error) {
    if (error instanceof ConfigValidationError) {
      process.stderr.write(`${error.message}\n`);
      process.exit(1);
    }
    throw error;
  }

  // Read by V8 at every full collection, so it takes effect from here on, in every role
  // (ADR 0070). The young generation's size, read only at start, is a launch flag instead.
  if (config.v8HeapGrowingPercent > 0) v8.setFlagsFromString(`--heap-growing-percent=${config.v8HeapGrowingPercent}`);

  // One format from the first line on: migrations and the cluster primary log through pino too.
  Logger.overrideLogger(
    new PinoLoggerService(createRootLogger({ level: config.logLevel, format: config.logFormat, nodeEnv: config.nodeEnv })),
  );

  // Workers of a cluster find the database ready: the primary prepared it before forking.
  if (!cluster.isWorker) {
    await prepareDatabase(config.database.directUrl, undefined, { poolMode: config.database.poolMode });
  }

  // Several HTTP processes share the port so that the service can use more than one core.
  if (cluster.isPrimary && config.role !== 'worker' && config.http.workers > 1) {
    runClusterPrimary(config.http.workers, config.http.shutdownTimeoutMs);
    return;
  }

  // The SDK is loaded only when tracing is configured, and before the application, so that its
  // instrumentations can patch http, ioredis and bullmq as they are first required (ADR 0011).
  let tracing: Tracing | null = null;
  if (config.tracing.endpoint !== undefined) {
    const { startTracing } = await import('./tracing/tracing');
    tracing = startTracing({
      endpoint: config.tracing.endpoint,
      serviceName: config.tracing.serviceName,
      sampleRatio: config.tracing.sampleRatio,
      role: config.role,
      databaseUrl: config.database.url,
    });
  }
  const { createHttpApp, createWorkerContext } = await import('./app.factory');

  let app: App;
  if (config.role === 'worker') {
    app = await createWorkerContext(config, tracing);
    await app.init();
  } else {
    const http = await createHttpApp(config, tracing);
    await http.listen(config.http.port, config.http.host);
    app = http;
  }
  const logger = new Logger('Bootstrap');
  logStarted(config, logger);
  handleShutdown(app, tracing, config.http.shutdownTimeoutMs, logger);
}

/** Where everything is, for whoever just ran `npm start`. */
function logStarted(config: AppConfig, logger: Logger): void {
  const tracing = config.tracing.endpoint ? `; traces to ${config.tracing.endpoint}` : '';
  if (config.role === 'worker') {
    logger.log({ role: config.role }, `started role=worker (queues and schedules, no HTTP)${tracing}`);
    return;
  }
  const host = ['0.0.0.0', '::', '[::]'].includes(config.http.host) ? 'localhost' : config.http.host;
  const base = `http://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${config.http.port}`;
  const urls = {
    ...(config.swaggerEnabled ? { swaggerUi: `${base}/api`, openApi: `${base}/api-json` } : {}),
    health: `${base}/health`,
    ready: `${base}/health/ready`,
    metrics: `${base}/metrics`,
    queueDashboard: `${base}/admin/queues`,
  };
  const lines = [
    config.swaggerEnabled ? `Swagger UI ${urls.swaggerUi} (OpenAPI document ${urls.openApi})` : 'Swagger UI off (SWAGGER_ENABLED=false)',
    `health ${urls.health} and ${urls.ready}`,
    `metrics ${urls.metrics}${config.metricsToken ? ' (bearer METRICS_TOKEN)' : ''}`,
    `queue dashboard ${urls.queueDashboard} (admins)`,
  ];
  logger.log({ role: config.role, port: config.http.port, urls }, `started role=${config.role} on ${base}: ${lines.join('; ')}${tracing}`);
}

/**
 * SIGTERM/SIGINT: stop accepting, let in-flight requests finish, close workers and
 * connections, exit 0. A drain that hangs past the timeout exits 1 instead of hanging forever.
 */
function handleShutdown(app: App, tracing: Tracing | null, timeoutMs: number, logger: Logger): void {
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    logger.log(`${signal} received, draining`);
    setTimeout(() => {
      logger.error(`shutdown did not finish within ${timeoutMs} ms`);
      process.exit(1);
    }, timeoutMs).unref();
    app
      .close()
      // Spans still buffered are exported before the process goes.
      .then(() => tracing?.shutdown())
      .then(
        () => process.exit(0),
        (error: unknown) => {
          logger.error({ err: error }, 'shutdown failed');
          process.exit(1);
        },
      );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

bootstrap().catch((error: unknown) => {
  process.stderr.write(`failed to start: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`);
  process.exit(1);
});
