import { randomUUID } from 'node:crypto';
import { createWallet, TestWallet } from '../factories/wallets.factory';
import { expectBooksBalanced } from '../setup/books';
import {
  CANNOT_CONNECT_NOW,
  PostgresFaultProxy,
  ProxyMode,
  TOO_MANY_CONNECTIONS,
} from '../setup/postgres-fault-proxy';
import { startTestApp, TestApp } from '../setup/test-app';
import { createTestDatabase, TestDatabase } from '../setup/test-database';

/**
 * PostgreSQL taken away from a running instance in each way an outage shows on the wire: the
 * answer is a 503 problem with Retry-After, quickly, and nothing hangs (ADR 0035, ADR 0038).
 * More requests are sent at once than the pool has connections, so that requests that wait for
 * a connection are covered as well as the ones that try to open one.
 */

/**
 * After an outage, the pool must serve again within this (ADR 0054 targets 15 s; measured well
 * under 1 s). A bound to give up polling at, not a timing: each request is itself bounded by
 * the 3 s connection wait.
 */
const RECOVERY_BOUND_MS = 30_000;
const RECOVERY_PAUSE_MS = 500;
/** What a client of the service waits at most (the fault suite's client timeout). */
const CLIENT_TIMEOUT_MS = 10_000;
const POOL_MAX = 4;
const CONCURRENT_REQUESTS = 3 * POOL_MAX;

describe('PostgreSQL unavailable (e2e)', () => {
  let db: TestDatabase;
  let proxy: PostgresFaultProxy;
  let t: TestApp;
  let wallet: TestWallet;
  /** Slowest 503 per mode, printed at the end: the figure ADR 0038 quotes. */
  const slowestMs: Record<string, number> = {};
  /** Time from the end of each outage to the first 200, printed at the end (ADR 0054). */
  const recoveryMs: Record<string, number> = {};

  beforeAll(async () => {
    db = await createTestDatabase();
    const target = new URL(db.url);
    proxy = new PostgresFaultProxy(target.hostname, Number(target.port || 5432));
    await proxy.setMode('forward');
    t = await startTestApp({ database: { ...db, url: proxy.urlFor(db.url) }, env: { DATABASE_POOL_MAX: String(POOL_MAX) } });
    wallet = await createWallet(t.api, 1_000);
  });
  afterAll(async () => {
    console.log(`slowest 503 by outage (ms): ${JSON.stringify(slowestMs)}`);
    console.log(`recovery by outage (ms): ${JSON.stringify(recoveryMs)}`);
    await t?.close();
    await proxy?.stop();
    await db?.drop();
  });

  async function timed(send: () => Promise<Response>): Promise<{ status: number; ms: number; response: Response; body: any }> {
    const started = performance.now();
    const response = await send();
    const text = await response.text();
    return { status: response.status, ms: performance.now() - started, response, body: text.startsWith('{') ? JSON.parse(text) : text };
  }

  /** Reads and keyed deposits at once, each with the client's own timeout. */
  function burst() {
    return Promise.all(
      Array.from({ length: CONCURRENT_REQUESTS }, (_, index) =>
        timed(() =>
          index % 2 === 0
            ? fetch(`${t.baseUrl}/wallets/${wallet.id}`, {
                headers: { 'x-user-id': wallet.userId },
                signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
              })
            : fetch(`${t.baseUrl}/wallets/${wallet.id}/deposit`, {
                method: 'POST',
                headers: { 'x-user-id': wallet.userId, 'content-type': 'application/json', 'idempotency-key': randomUUID() },
                body: JSON.stringify({ amount: 5 }),
                signal: AbortSignal.timeout(CLIENT_TIMEOUT_MS),
              }),
        ),
      ),
    );
  }

  const outages: [string, ProxyMode][] = [
    ['refused (server stopped)', 'refuse'],
    // Connections accepted and never answered; half-open pooled connections: ADR 0054.
    ['silent (server hung: connections accepted, never answered)', 'silent'],
    ['out of connections (53300 too_many_connections)', TOO_MANY_CONNECTIONS],
    ['starting up (57P03 cannot_connect_now)', CANNOT_CONNECT_NOW],
  ];

  it.each(outages)('%s: every request is a 503 problem with Retry-After before the client gives up', async (name, mode) => {
    await proxy.setMode(mode);
    try {
      // Twice: the first burst meets a pool whose connections were just cut (postgres.js 3.4.9
      // can then leave a query waiting for good when the reconnect is refused with an error,
      // porsager/postgres#1193 and #1223), the second one a pool that has already failed to
      // reconnect (where postgres.js's own back-off grew to 20 s).
      for (let round = 0; round < 2; round++) {
        const answers = await burst();
        for (const answer of answers) {
          expect({ name, status: answer.status }).toEqual({ name, status: 503 });
          expect(answer.response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
          expect(answer.response.headers.get('retry-after')).toBe('1');
          expect(answer.body).toMatchObject({ code: 'SERVICE_UNAVAILABLE', status: 503 });
          expect(JSON.stringify(answer.body)).not.toMatch(/53300|57P03|ECONNREFUSED|too many|127\.0\.0\.1|stack/i);
        }
        slowestMs[name] = Math.max(slowestMs[name] ?? 0, Math.round(Math.max(...answers.map((answer) => answer.ms))));
      }
    } finally {
      await proxy.setMode('forward');
    }
    // Recovery needs nothing but time, after a silent outage too (ADR 0054): polled until a read
    // succeeds, within a generous bound.
    const recoveryStarted = performance.now();
    let recovered = await t.api.get(`/wallets/${wallet.id}`, { userId: wallet.userId });
    while (recovered.status === 503 && performance.now() - recoveryStarted < RECOVERY_BOUND_MS) {
      await new Promise((resolve) => setTimeout(resolve, RECOVERY_PAUSE_MS));
      recovered = await t.api.get(`/wallets/${wallet.id}`, { userId: wallet.userId });
    }
    recoveryMs[name] = Math.round(performance.now() - recoveryStarted);
    expect(recovered.status).toBe(200);
    expect(recovered.body.balance).toBe(1_000);
  });

  it('the books stay balanced through every outage', async () => {
    await expectBooksBalanced(db.sql);
  });
});
