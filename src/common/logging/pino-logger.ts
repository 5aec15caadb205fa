import type { LoggerService } from '@nestjs/common';
import type { FastifyInstance } from 'fastify';
import pino, { Level, Logger as Pino } from 'pino';
import type { LogFormat, LogLevel } from '../../config/app-config';

/** Probes would drown the log: one line every few seconds per instance. */
const UNLOGGED_REQUESTS = /^\/health(\/|$|\?)/;

export interface RootLoggerOptions {
  level: LogLevel;
  format: LogFormat;
  nodeEnv: 'development' | 'test' | 'production';
  /** Fields merged into every line, e.g. the active trace's ids when tracing is on. */
  mixin?: () => Record<string, unknown>;
  /** Where lines go; stdout unless a test captures them. */
  destination?: NodeJS.WritableStream & { isTTY?: boolean };
}

/** `auto` is pretty for a person at a terminal, JSON for everything else (ADR 0044). */
export function resolveLogFormat(
  format: LogFormat,
  nodeEnv: RootLoggerOptions['nodeEnv'],
  isTty: boolean | undefined,
): 'pretty' | 'json' {
  if (format !== 'auto') return format;
  return isTty === true && nodeEnv !== 'production' ? 'pretty' : 'json';
}

/**
 * JSON lines on stdout, every line with the pid so that cluster workers can be told apart; or,
 * at a terminal, one human-readable line per entry through pino-pretty (synchronous, in this
 * thread: a development convenience, not a production path).
 */
export function createRootLogger(options: RootLoggerOptions): Pino {
  const destination = options.destination ?? process.stdout;
  const pinoOptions = { level: options.level, ...(options.mixin ? { mixin: options.mixin } : {}) };
  if (resolveLogFormat(options.format, options.nodeEnv, destination.isTTY) === 'json') {
    return options.destination ? pino(pinoOptions, options.destination) : pino(pinoOptions);
  }
  // Loaded only here: JSON logging never pays for it.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { build } = require('pino-pretty') as typeof import('pino-pretty');
  return pino(
    pinoOptions,
    build({
      destination,
      sync: true,
      colorize: destination.isTTY === true,
      singleLine: true,
      translateTime: 'SYS:HH:MM:ss.l',
      // The start line's `urls` repeat its message; request lines say it all in the message.
      ignore: 'pid,hostname,context,req,res,requestId,urls',
      messageFormat: '{if context}[{context}] {end}{msg}{if req} {req.method} {req.url} {res.statusCode}{end}',
    }),
  );
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

/** Contexts of Nest's own start-up lines: which modules were initialised, which routes mapped. */
const NEST_INVENTORY_CONTEXTS = new Set(['InstanceLoader', 'RoutesResolver', 'RouterExplorer']);

/**
 * Nest's logger interface on pino. Nest passes the logger's context as the last parameter; it
 * becomes the `context` field. An object first argument is merged into the line (`err` for an
 * Error), as in `logger.error({ err, requestId }, 'unhandled error')`.
 */
export class PinoLoggerService implements LoggerService {
  constructor(private readonly pino: Pino) {}

  log(message: unknown, ...params: unknown[]): void {
    // Nest's start-up inventory (every module initialised, every route mapped: some fifty lines)
    // would bury the one line that says where the service is; it stays available at debug.
    const context = params[params.length - 1];
    this.write(typeof context === 'string' && NEST_INVENTORY_CONTEXTS.has(context) ? 'debug' : 'info', message, params);
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
