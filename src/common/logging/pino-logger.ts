import type { LoggerService } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import pino, { Level, Logger as Pino } from 'pino';
import type { LogLevel } from '../../config/app-config';

/** Probes would drown the log: one line every few seconds per instance. */
const UNLOGGED_REQUESTS = /^\/health(\/|$|\?)/;

/** JSON lines on stdout; every line carries the pid, so cluster workers can be told apart. */
export function createRootLogger(level: LogLevel): Pino {
  return pino({ level });
}

/**
 * One line per answered request, with the request id (also as `req.id`, the shape the lines had
 * under pino-http), written after the response went out.
 * Only method, URL and status are logged, never headers (credentials stay out of the log).
 */
export function logRequests(fastify: FastifyInstance, logger: Pino): void {
  if (!logger.isLevelEnabled('info')) return;
  fastify.addHook('onResponse', async (request, reply) => {
    if (UNLOGGED_REQUESTS.test(request.url)) return;
    logger.info(
      {
        requestId: request.id,
        req: { id: request.id, method: request.method, url: request.url },
        res: { statusCode: reply.statusCode },
        responseTime: reply.elapsedTime,
      },
      'request completed',
    );
  });
}

/**
 * Nest's logger interface on pino. Nest passes the logger's context as the last parameter; it
 * becomes the `context` field. An object first argument is merged into the line (`err` for an
 * Error), as in `logger.error({ err, requestId }, 'unhandled error')`.
 */
export class PinoLoggerService implements LoggerService {
  constructor(private readonly pino: Pino) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }
  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }
  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }
  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('trace', message, params);
  }
  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  private write(level: Level, message: unknown, params: unknown[]): void {
    if (!this.pino.isLevelEnabled(level)) return;
    const fields: Record<string, unknown> = {};
    const last = params[params.length - 1];
    const hasContext = typeof last === 'string';
    if (hasContext) fields.context = last;
    // Nest pads error() with an undefined stack before the context.
    const rest = (hasContext ? params.slice(0, -1) : params).filter((param) => param !== undefined);
    if (message instanceof Error) {
      fields.err = message;
      this.pino[level](fields, message.message);
    } else if (typeof message === 'object' && message !== null) {
      Object.assign(fields, message);
      this.pino[level](fields, ...(rest as [string]));
    } else if (level === 'error' && typeof rest[0] === 'string' && rest.length === 1 && rest[0].includes('\n    at ')) {
      // Nest's own `error(message, stack)` form.
      fields.err = { message: String(message), stack: rest[0] };
      this.pino[level](fields, String(message));
    } else {
      this.pino[level](fields, String(message), ...(rest as []));
    }
  }
}
