import * as net from 'node:net';
import { createWallet } from '../factories/wallets.factory';
import { startTestApp, TestApp } from '../setup/test-app';

/**
 * Slow clients cannot hold connections (ADR 0038): whoever sends headers or a body too slowly,
 * or never finishes, is cut off after the configured timeouts, while other clients are served.
 */

const HEADERS_TIMEOUT_MS = 1_000;
const REQUEST_TIMEOUT_MS = 2_000;
/** Far above both timeouts (and Node's checking interval): a connection still open then is a failure. */
const STILL_OPEN_AFTER_MS = 15_000;

interface RawOutcome {
  closed: boolean;
  ms: number;
  text: string;
}

/** Opens a raw connection, runs `drive` on it, and reports when and how the server ended it. */
function rawConnection(baseUrl: string, drive: (socket: net.Socket) => void): Promise<RawOutcome> {
  const url = new URL(baseUrl);
  return new Promise((resolve) => {
    const started = performance.now();
    const chunks: Buffer[] = [];
    const socket = net.connect(Number(url.port), url.hostname, () => drive(socket));
    const giveUp = setTimeout(() => {
      socket.destroy();
      resolve({ closed: false, ms: performance.now() - started, text: Buffer.concat(chunks).toString('utf8') });
    }, STILL_OPEN_AFTER_MS);
    socket.on('data', (chunk: Buffer) => chunks.push(chunk));
    socket.on('error', () => undefined);
    socket.on('close', () => {
      clearTimeout(giveUp);
      resolve({ closed: true, ms: performance.now() - started, text: Buffer.concat(chunks).toString('utf8') });
    });
  });
}

describe('slow clients (e2e)', () => {
  let t: TestApp;
  const measured: Record<string, number> = {};

  beforeAll(async () => {
    t = await startTestApp({
      env: { HTTP_HEADERS_TIMEOUT_MS: String(HEADERS_TIMEOUT_MS), HTTP_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS) },
    });
  });
  afterAll(async () => {
    console.log(`connections cut after (ms): ${JSON.stringify(measured)}`);
    await t.close();
  });

  it('a body that never completes is dropped, and the deposit it announced never happens', async () => {
    const wallet = await createWallet(t.api, 100);
    const outcome = await rawConnection(t.baseUrl, (socket) => {
      socket.write(
        `POST /wallets/${wallet.id}/deposit HTTP/1.1\r\nHost: x\r\nX-User-Id: ${wallet.userId}\r\n` +
          'Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{"amount":',
      );
    });
    measured['body never completes'] = Math.round(outcome.ms);
    expect(outcome.closed).toBe(true);
    // Node answers 408 before closing (when the socket is still writable).
    if (outcome.text.length > 0) expect(outcome.text).toMatch(/^HTTP\/1\.1 408 /);
    expect((await t.api.get(`/wallets/${wallet.id}`, { userId: wallet.userId })).body.balance).toBe(100);
  });

  it('headers that never complete are dropped', async () => {
    const outcome = await rawConnection(t.baseUrl, (socket) => {
      socket.write('GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: ');
    });
    measured['headers never complete'] = Math.round(outcome.ms);
    expect(outcome.closed).toBe(true);
  });

  it('a connection that sends nothing at all is dropped', async () => {
    const outcome = await rawConnection(t.baseUrl, () => undefined);
    measured['nothing sent'] = Math.round(outcome.ms);
    expect(outcome.closed).toBe(true);
  });

  it('a body trickled byte by byte is dropped although the connection never goes quiet', async () => {
    let trickle: NodeJS.Timeout | undefined;
    const outcome = await rawConnection(t.baseUrl, (socket) => {
      socket.write('POST /wallets HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{');
      trickle = setInterval(() => socket.writable && socket.write(' '), 100);
    });
    clearInterval(trickle);
    measured['body trickled'] = Math.round(outcome.ms);
    expect(outcome.closed).toBe(true);
  });

  it('serves other clients while slow ones hang, and a prompt request on a raw socket is answered', async () => {
    const slow = Array.from({ length: 20 }, () =>
      rawConnection(t.baseUrl, (socket) => socket.write('POST /wallets HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\n')),
    );
    expect((await t.api.get('/health')).status).toBe(200);
    const prompt = await rawConnection(t.baseUrl, (socket) => socket.write('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n'));
    expect(prompt.text).toMatch(/^HTTP\/1\.1 200 /);
    expect((await Promise.all(slow)).every((outcome) => outcome.closed)).toBe(true);
  });
});
