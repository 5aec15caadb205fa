import { INestApplication, INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { FastifyAdapter, NestFastifyApplication } from '@nestjs/platform-fastify';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import { AppConfig } from './config/app-config';
import { requestIdFor } from './common/http/request-id';
import { createValidationPipe } from './common/http/validation';
import { setupSwagger } from './swagger';

/** Request bodies are small JSON objects; anything larger is refused before parsing. */
const BODY_LIMIT_BYTES = 16 * 1024;

export function createFastifyAdapter(): FastifyAdapter {
  return new FastifyAdapter({
    genReqId: requestIdFor,
    bodyLimit: BODY_LIMIT_BYTES,
    logger: false,
    // Keep-alive sockets would hold a draining server open until they time out.
    forceCloseConnections: 'idle',
    return503OnClosing: true,
  });
}

/** Builds the HTTP application (roles `api` and `all`) without listening. */
export async function createHttpApp(config: AppConfig): Promise<NestFastifyApplication> {
  const app = await NestFactory.create<NestFastifyApplication>(AppModule.register(config), createFastifyAdapter(), {
    bufferLogs: true,
  });
  app.useLogger(app.get(Logger));
  app.useGlobalPipes(createValidationPipe());
  app
    .getHttpAdapter()
    .getInstance()
    .addHook('onRequest', async (request, reply) => {
      reply.header('X-Request-Id', request.id);
    });
  if (config.swaggerEnabled) setupSwagger(app);
  return app;
}

/** Builds the worker-only process: queues and schedules, no HTTP. */
export async function createWorkerContext(config: AppConfig): Promise<INestApplicationContext> {
  const app = await NestFactory.createApplicationContext(AppModule.register(config), { bufferLogs: true });
  app.useLogger(app.get(Logger));
  return app;
}

export type App = INestApplication | INestApplicationContext;
