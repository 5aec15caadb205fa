import { startTestApp, TestApp } from '../setup/test-app';

/** Nothing listens here: a Redis that is down for the whole life of the app. */
const UNREACHABLE_REDIS_URL = 'redis://127.0.0.1:6399';

describe('health (e2e)', () => {
  describe('with PostgreSQL and Redis up', () => {
    let t: TestApp;

    beforeAll(async () => {
      t = await startTestApp();
    });
    afterAll(async () => {
      await t.close();
    });

    it('GET /health is 200 {status:"ok"} without identity', async () => {
      const response = await t.api.get('/health');
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ status: 'ok' });
    });

    it('GET /health/ready is 200 with both checks up', async () => {
      const response = await t.api.get('/health/ready');
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ status: 'ok', checks: { postgres: 'up', redis: 'up' } });
    });
  });

  describe('with Redis unreachable', () => {
    let t: TestApp;

    beforeAll(async () => {
      // The API role: registering the reconciliation schedule (worker roles) needs Redis at start.
      t = await startTestApp({ env: { REDIS_URL: UNREACHABLE_REDIS_URL, APP_ROLE: 'api' } });
    });
    afterAll(async () => {
      await t?.close();
    });

    it('GET /health stays 200: liveness uses no dependency', async () => {
      const response = await t.api.get('/health');
      expect(response.status).toBe(200);
      expect(response.body).toEqual({ status: 'ok' });
    });

    it('GET /health/ready is 503 problem details naming redis, with postgres up', async () => {
      const response = await t.api.get('/health/ready');
      expect(response.status).toBe(503);
      expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
      expect(response.headers.get('retry-after')).toBe('1');
      expect(response.body).toMatchObject({
        status: 503,
        code: 'SERVICE_UNAVAILABLE',
        checks: { postgres: 'up', redis: 'down' },
        requestId: response.headers.get('x-request-id'),
      });
      expect(response.body.detail).toMatch(/redis/);
      expect(response.body.detail).not.toMatch(/postgres/);
    });
  });
});
