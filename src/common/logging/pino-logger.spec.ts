import { Logger } from '@nestjs/common';
import Fastify from 'fastify';
import pino from 'pino';
import { Writable } from 'node:stream';
import { logRequests, PinoLoggerService } from './pino-logger';

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
