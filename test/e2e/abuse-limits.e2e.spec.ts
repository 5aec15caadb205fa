import { randomUUID } from 'node:crypto';
import { createWallet } from '../factories/wallets.factory';
import { startTestApp, TestApp } from '../setup/test-app';

describe('abuse limits: per-caller rate limit, security headers, CORS (e2e)', () => {
  describe('rate limit shared by two instances', () => {
    let first: TestApp;
    let second: TestApp;

    beforeAll(async () => {
      // A per-minute window so that the test does not depend on how fast requests go.
      const env = { RATE_LIMIT_PER_SECOND: '0', RATE_LIMIT_PER_MINUTE: '3' };
      first = await startTestApp({ env });
      second = await startTestApp({ env, database: first.db, keyPrefix: first.keyPrefix });
    });
    afterAll(async () => {
      await second.close();
      await first.close();
    });

    it('counts a caller across instances and answers 429 problem details with Retry-After', async () => {
      const userId = randomUUID();
      const statuses: number[] = [];
      for (const t of [first, second, first]) statuses.push((await t.api.get(`/wallets/${randomUUID()}`, { userId })).status);
      expect(statuses).toEqual([404, 404, 404]);

      const limited = await second.api.get(`/wallets/${randomUUID()}`, { userId });
      expect(limited.status).toBe(429);
      expect(limited.headers.get('content-type')).toContain('application/problem+json');
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(limited.body).toMatchObject({ status: 429, code: 'RATE_LIMITED', requestId: limited.headers.get('x-request-id') });

      // A limited caller moves no money.
      const wallet = await first.db.sql`SELECT count(*)::int AS n FROM wallets WHERE user_id = ${userId}`;
      const create = await first.api.post('/wallets', { userId });
      expect(create.status).toBe(429);
      expect((await first.db.sql`SELECT count(*)::int AS n FROM wallets WHERE user_id = ${userId}`)[0]!.n).toBe(wallet[0]!.n);
    });

    it('keeps other callers, health and metrics unaffected', async () => {
      const limitedUser = randomUUID();
      for (let i = 0; i < 4; i++) await first.api.get(`/wallets/${randomUUID()}`, { userId: limitedUser });
      expect((await first.api.get(`/wallets/${randomUUID()}`, { userId: limitedUser })).status).toBe(429);

      expect((await second.api.get(`/wallets/${randomUUID()}`, { userId: randomUUID() })).status).toBe(404);
      for (let i = 0; i < 5; i++) {
        expect((await first.api.get('/health')).status).toBe(200);
        expect((await first.api.get('/metrics')).status).toBe(200);
      }
    });
  });

  describe('anonymous requests and unknown routes, per client address', () => {
    let proxied: TestApp;
    let direct: TestApp;
    // Documentation addresses (RFC 5737): each test is a client of its own.
    let nextAddress = 1;
    const address = () => `203.0.113.${nextAddress++}`;

    beforeAll(async () => {
      const env = { RATE_LIMIT_ANONYMOUS_PER_MINUTE: '3' };
      proxied = await startTestApp({ env: { ...env, TRUST_PROXY: 'loopback' } });
      direct = await startTestApp({ env });
    });
    afterAll(async () => {
      await proxied.close();
      await direct.close();
    });

    const from = (client: string, headers: Record<string, string> = {}) => ({ headers: { 'x-forwarded-for': client, ...headers } });

    it('answers 429 with Retry-After once an address has spent its budget of requests without identity', async () => {
      const client = address();
      const statuses: number[] = [];
      for (let i = 0; i < 3; i++) statuses.push((await proxied.api.post('/wallets', from(client))).status);
      expect(statuses).toEqual([401, 401, 401]);

      const limited = await proxied.api.post('/wallets', from(client, { 'x-user-id': 'not-a-uuid' }));
      expect(limited.status).toBe(429);
      expect(limited.headers.get('content-type')).toContain('application/problem+json');
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(limited.body).toMatchObject({ code: 'RATE_LIMITED', requestId: limited.headers.get('x-request-id') });
      expect(limited.headers.get('ratelimit-limit')).toBe('3');
      expect(limited.headers.get('ratelimit-remaining')).toBe('0');
      expect(limited.headers.get('ratelimit-reset')).toBe(limited.headers.get('retry-after'));
    });

    it('counts unknown routes in the same budget, and answers them with the usual headers', async () => {
      const client = address();
      expect((await proxied.api.get('/no/such/route', from(client))).status).toBe(404);
      expect((await proxied.api.get('/wallets', from(client))).status).toBe(404);
      expect((await proxied.api.get('/wallets/x', from(client))).status).toBe(401);
      const limited = await proxied.api.get('/admin/../../etc/passwd', from(client));
      expect(limited.status).toBe(429);
      expect(limited.headers.get('retry-after')).toBeTruthy();
      expect(limited.headers.get('x-content-type-options')).toBe('nosniff');
      expect(limited.headers.get('x-request-id')).toBeTruthy();
      expect(limited.body).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    });

    it('leaves callers with an identity, other addresses and health alone', async () => {
      const client = address();
      for (let i = 0; i < 5; i++) await proxied.api.post('/wallets', from(client));
      expect((await proxied.api.post('/wallets', from(client))).status).toBe(429);

      expect((await proxied.api.post('/wallets', from(client, { 'x-user-id': randomUUID() }))).status).toBe(201);
      expect((await proxied.api.post('/wallets', from(address()))).status).toBe(401);
      expect((await proxied.api.get('/health', from(client))).status).toBe(200);
    });

    it('ignores X-Forwarded-For unless TRUST_PROXY trusts the peer: one budget for the peer address', async () => {
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) statuses.push((await direct.api.post('/wallets', from(address()))).status);
      expect(statuses).toEqual([401, 401, 401, 429]);
    });
  });

  describe('defaults', () => {
    let t: TestApp;

    beforeAll(async () => {
      t = await startTestApp();
    });
    afterAll(async () => {
      await t.close();
    });

    it('does not limit a busy caller at the default limits', async () => {
      const wallet = await createWallet(t.api);
      const responses = await Promise.all(
        Array.from({ length: 100 }, () => t.api.get(`/wallets/${wallet.id}`, { userId: wallet.userId })),
      );
      expect(responses.map((r) => r.status)).toEqual(Array(100).fill(200));
    });

    it('sends security headers on API responses', async () => {
      const response = await t.api.get('/health');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
      expect(response.headers.get('strict-transport-security')).toContain('max-age=');
      const csp = response.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      // Errors too, whether Nest or the router answered.
      for (const answer of [await t.api.get('/no-such-route'), await t.api.post('/purchases', { userId: randomUUID() })]) {
        expect(answer.status).toBeGreaterThanOrEqual(400);
        expect(answer.headers.get('x-content-type-options')).toBe('nosniff');
        expect(answer.headers.get('content-security-policy')).toBe(csp);
      }
    });

    it('keeps Swagger UI loadable under the content security policy', async () => {
      const page = await t.api.get('/api');
      expect(page.status).toBe(200);
      expect(page.headers.get('content-type')).toContain('text/html');
      const csp = page.headers.get('content-security-policy') ?? '';
      expect(csp).toMatch(/script-src 'self' 'unsafe-inline'/);
      expect(csp).toMatch(/style-src 'self' 'unsafe-inline'/);
      // Plain-HTTP deployments behind a gateway must not have Swagger UI's calls rewritten to https.
      expect(csp).not.toContain('upgrade-insecure-requests');
      // Every script and stylesheet the page loads comes from this origin.
      const assets = [...String(page.body).matchAll(/(?:src|href)="([^"]+\.(?:js|css))"/g)].map((m) => m[1]!);
      expect(assets.length).toBeGreaterThan(0);
      for (const asset of assets) {
        expect(asset).not.toMatch(/^https?:/);
        const url = new URL(asset, `${t.baseUrl}/api`);
        expect((await t.api.get(url.pathname)).status).toBe(200);
      }
    });

    it('sends no CORS headers when no origin is configured', async () => {
      const preflight = await t.api.request('OPTIONS', '/wallets', {
        headers: { origin: 'https://shop.example.com', 'access-control-request-method': 'POST' },
      });
      expect(preflight.headers.get('access-control-allow-origin')).toBeNull();
      const simple = await t.api.get('/health', { headers: { origin: 'https://shop.example.com' } });
      expect(simple.headers.get('access-control-allow-origin')).toBeNull();
    });
  });

  describe('CORS_ORIGINS', () => {
    let t: TestApp;

    beforeAll(async () => {
      t = await startTestApp({ env: { CORS_ORIGINS: 'https://shop.example.com, https://admin.example.com' } });
    });
    afterAll(async () => {
      await t.close();
    });

    it('allows the configured origins only', async () => {
      const allowed = await t.api.request('OPTIONS', '/purchases', {
        headers: { origin: 'https://shop.example.com', 'access-control-request-method': 'POST' },
      });
      expect(allowed.status).toBe(204);
      expect(allowed.headers.get('access-control-allow-origin')).toBe('https://shop.example.com');
      expect(allowed.headers.get('access-control-allow-headers')?.toLowerCase()).toContain('idempotency-key');

      const other = await t.api.request('OPTIONS', '/purchases', {
        headers: { origin: 'https://evil.example.net', 'access-control-request-method': 'POST' },
      });
      expect(other.headers.get('access-control-allow-origin')).toBeNull();

      const exposed = await t.api.get('/health', { headers: { origin: 'https://admin.example.com' } });
      expect(exposed.headers.get('access-control-allow-origin')).toBe('https://admin.example.com');
      expect(exposed.headers.get('access-control-expose-headers')?.toLowerCase()).toContain('x-request-id');
    });
  });
});
