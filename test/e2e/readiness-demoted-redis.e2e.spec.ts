import Redis from 'ioredis';
import { PrivateRedis } from '../setup/private-redis';
import { startTestApp, TestApp } from '../setup/test-app';

const POLL_INTERVAL_MS = 100;
const POLLS_MAX = 100;

/**
 * Readiness tells the truth about Redis (ADR 0055): a Redis that is still reachable but has
 * become a replica answers PING and refuses every write (READONLY), so an instance connected to
 * it cannot queue reports or store idempotency results. Readiness must call it down, and ready
 * again once it is a master. The instance must still shut down afterwards.
 */
describe('readiness with a demoted Redis (e2e)', () => {
  let first: PrivateRedis;
  let second: PrivateRedis;
  let t: TestApp;
  let admin: Redis;
  let closed = false;

  beforeAll(async () => {
    first = await PrivateRedis.start();
    second = await PrivateRedis.start();
    t = await startTestApp({ env: { REDIS_URL: first.url } });
    admin = new Redis(first.url, { maxRetriesPerRequest: 1 });
  });

  afterAll(async () => {
    admin?.disconnect();
    if (!closed) await t?.close();
    await first?.stop();
    await second?.stop();
  });

  async function readinessUntil(status: number): Promise<{ status: number; body: { checks?: Record<string, string> } }> {
    let last = await t.api.get('/health/ready');
    for (let poll = 0; poll < POLLS_MAX && last.status !== status; poll++) {
      await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
      last = await t.api.get('/health/ready');
    }
    return last;
  }

  it('is 503 naming Redis while the server is a replica, 200 once it is a master again, and the instance still shuts down', async () => {
    expect((await readinessUntil(200)).status).toBe(200);

    await admin.replicaof('127.0.0.1', second.port);
    expect(await admin.ping()).toBe('PONG');
    const demoted = await readinessUntil(503);
    expect(demoted.status).toBe(503);
    expect(demoted.body.checks).toEqual({ postgres: 'up', redis: 'down' });

    await admin.replicaof('NO', 'ONE');
    expect((await readinessUntil(200)).status).toBe(200);

    // Right after the promotion the workers' blocking connections may still wait to reconnect,
    // without a socket; BullMQ's own close then waited for good (afterAll timed out).
    closed = true;
    await t.close();
  });
});
