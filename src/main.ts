import { Logger } from '@nestjs/common';
import cluster from 'node:cluster';
import { App, createHttpApp, createWorkerContext } from './app.factory';
import { runClusterPrimary } from './cluster';
import { AppConfig, ConfigValidationError, loadConfigFromProcess } from './config/app-config';
import { prepareDatabase } from './db/migrate';

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

  // Workers of a cluster find the database ready: the primary prepared it before forking.
  if (!cluster.isWorker) await prepareDatabase(config.database.url);

  // Several HTTP processes share the port so that the service can use more than one core.
  if (cluster.isPrimary && config.role !== 'worker' && config.http.workers > 1) {
    runClusterPrimary(config.http.workers, config.http.shutdownTimeoutMs);
    return;
  }

  let app: App;
  if (config.role === 'worker') {
    app = await createWorkerContext(config);
    await app.init();
  } else {
    const http = await createHttpApp(config);
    await http.listen(config.http.port, config.http.host);
    app = http;
  }
  const logger = new Logger('Bootstrap');
  logger.log(`started role=${config.role}${config.role === 'worker' ? '' : ` port=${config.http.port}`}`);
  handleShutdown(app, config.http.shutdownTimeoutMs, logger);
}

/**
 * SIGTERM/SIGINT: stop accepting, let in-flight requests finish, close workers and
 * connections, exit 0. A drain that hangs past the timeout exits 1 instead of hanging forever.
 */
function handleShutdown(app: App, timeoutMs: number, logger: Logger): void {
  let closing = false;
  const shutdown = (signal: string) => {
    if (closing) return;
    closing = true;
    logger.log(`${signal} received, draining`);
    setTimeout(() => {
      logger.error(`shutdown did not finish within ${timeoutMs} ms`);
      process.exit(1);
    }, timeoutMs).unref();
    app.close().then(
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
