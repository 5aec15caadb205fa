import { Logger } from '@nestjs/common';
import Fastify from 'fastify';
import pino from 'pino';
import { Writable } from 'node:stream';
import { createRootLogger, logRequests, PinoLoggerService, resolveLogFormat } from './pino-logger';

/** A pino logger writing into an array of parsed lines. */
function capture(level: pino.Level = 'info') {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: pino({ level }, sink) };
}

describe('PinoLoggerService', () => {
  afterEach(() => Logger.overrideLogger(true));

  it('writes what Nest loggers say as JSON lines with their context, filtered by level', () => {
    const { lines, logger } = capture('info');
    Logger.overrideLogger(new PinoLoggerService(logger));
    const log = new Logger('Payments');
    log.log('started');
    log.debug('not at info');
    log.warn({ walletId: 'w1' }, 'store unavailable');
    log.error('plain failure');
    expect(lines.map(({ level, context, msg, walletId }) => ({ level, context, msg, walletId }))).toEqual([
      { level: 30, context: 'Payments', msg: 'started', walletId: undefined },
      { level: 40, context: 'Payments', msg: 'store unavailable', walletId: 'w1' },
      { level: 50, context: 'Payments', msg: 'plain failure', walletId: undefined },
    ]);
  });

  it("puts Nest's start-up inventory at debug, so that info shows what matters", () => {
    const { lines, logger } = capture('info');
    Logger.overrideLogger(new PinoLoggerService(logger));
    new Logger('InstanceLoader').log('AppModule dependencies initialized');
    new Logger('RouterExplorer').log('Mapped {/wallets, POST} route');
    new Logger('Bootstrap').log('started');
    expect(lines.map(({ context, msg }) => `${String(context)}: ${String(msg)}`)).toEqual(['Bootstrap: started']);
  });

  it('serialises errors given as err or as the message, and Nest’s (message, stack) form', () => {
    const { lines, logger } = capture('info');
    Logger.overrideLogger(new PinoLoggerService(logger));
    const log = new Logger('Errors');
    log.error({ err: new Error('boom'), requestId: 'r-1' }, 'unhandled error');
    log.error(new Error('thrown'));
    log.error('failed to start', 'Error: failed to start\n    at main (main.js:1:1)');
    expect(lines[0]).toMatchObject({ msg: 'unhandled error', requestId: 'r-1', err: { message: 'boom', type: 'Error' } });
    expect(String((lines[0]!.err as { stack: string }).stack)).toContain('Error: boom');
    expect(lines[1]).toMatchObject({ msg: 'thrown', err: { message: 'thrown' } });
    expect(lines[2]).toMatchObject({ msg: 'failed to start', err: { stack: expect.stringContaining('at main') } });
  });
});

describe('logRequests', () => {
  it('logs one line per answered request with its id, method, URL and status, never headers or probes', async () => {
    const { lines, logger } = capture('info');
    const fastify = Fastify({ genReqId: () => 'req-42' });
    logRequests(fastify, logger);
    fastify.get('/wallets/:id', async () => ({ ok: true }));
    fastify.get('/health/ready', async () => ({ status: 'ok' }));
    await fastify.inject({ method: 'GET', url: '/wallets/7', headers: { authorization: 'Bearer secret' } });
    await fastify.inject({ method: 'GET', url: '/health/ready' });
    await fastify.inject({ method: 'GET', url: '/nope' });
    await fastify.close();
    expect(lines.map(({ requestId, req, res, msg }) => ({ requestId, req, res, msg }))).toEqual([
      { requestId: 'req-42', req: { id: 'req-42', method: 'GET', url: '/wallets/7' }, res: { statusCode: 200 }, msg: 'request completed' },
      { requestId: 'req-42', req: { id: 'req-42', method: 'GET', url: '/nope' }, res: { statusCode: 404 }, msg: 'request completed' },
    ]);
    expect(JSON.stringify(lines)).not.toContain('secret');
  });

  it('adds no hook at all when info is not logged', async () => {
    const { lines, logger } = capture('warn');
    const fastify = Fastify();
    logRequests(fastify, logger);
    fastify.get('/x', async () => 'x');
    await fastify.inject({ method: 'GET', url: '/x' });
    await fastify.close();
    expect(lines).toEqual([]);
  });
});

describe('log format (LOG_FORMAT)', () => {
  it.each([
    ['auto', 'development', true, 'pretty'],
    ['auto', 'test', true, 'pretty'],
    ['auto', 'production', true, 'json'],
    ['auto', 'development', false, 'json'],
    ['auto', 'development', undefined, 'json'],
    ['json', 'development', true, 'json'],
    ['pretty', 'production', false, 'pretty'],
  ] as const)('%s with NODE_ENV=%s and a terminal=%s is %s', (format, nodeEnv, isTty, expected) => {
    expect(resolveLogFormat(format, nodeEnv, isTty)).toBe(expected);
  });

  /** A destination that records what is written, and claims to be a terminal or not. */
  function sink(isTTY: boolean) {
    const written: string[] = [];
    const stream = Object.assign(
      new Writable({
        write(chunk: Buffer, _encoding, done) {
          written.push(chunk.toString());
          done();
        },
      }),
      { isTTY },
    );
    return { written, stream };
  }

  it('writes one human-readable line per entry at a terminal, JSON lines elsewhere', () => {
    const tty = sink(true);
    const pretty = createRootLogger({ level: 'info', format: 'auto', nodeEnv: 'development', destination: tty.stream });
    pretty.info({ context: 'Payments', req: { method: 'POST', url: '/purchases' }, res: { statusCode: 201 } }, 'request completed');
    const line = tty.written.join('').replace(/\u001b\[[0-9;]*m/g, '');
    expect(line).toMatch(/^\[\d{2}:\d{2}:\d{2}\.\d{3}\] INFO: \[Payments\] request completed POST \/purchases 201\n$/);

    const pipe = sink(false);
    const json = createRootLogger({ level: 'info', format: 'auto', nodeEnv: 'development', destination: pipe.stream });
    json.info({ context: 'Payments' }, 'started');
    expect(JSON.parse(pipe.written.join(''))).toMatchObject({ level: 30, context: 'Payments', msg: 'started' });
  });

  it('merges the mixin (the active trace when tracing is on) into every line', () => {
    const pipe = sink(false);
    const logger = createRootLogger({
      level: 'info',
      format: 'json',
      nodeEnv: 'production',
      destination: pipe.stream,
      mixin: () => ({ trace_id: 'a'.repeat(32), span_id: 'b'.repeat(16) }),
    });
    logger.info('traced');
    expect(JSON.parse(pipe.written.join(''))).toMatchObject({ msg: 'traced', trace_id: 'a'.repeat(32), span_id: 'b'.repeat(16) });
  });
});
