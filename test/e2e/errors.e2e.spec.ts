import { randomUUID } from 'node:crypto';
import { createWallet, TestWallet } from '../factories/wallets.factory';
import { ApiResponse } from '../setup/api-client';
import { startTestApp, TestApp } from '../setup/test-app';

/** Words that would mean internals reached a client. */
const LEAKS = [/\bat \S+ \(/, /node_modules/, /\.ts:\d+/, /\bSELECT\b/i, /\bINSERT\b/i, /\bpostgres/i, /Error:/, /stack/i];

/** Every error is RFC 9457 problem details carrying the request id of the X-Request-Id header. */
function expectProblem(response: ApiResponse, status: number, code?: string): void {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
  const requestId = response.headers.get('x-request-id');
  expect(requestId).toBeTruthy();
  expect(response.body).toEqual(
    expect.objectContaining({
      type: expect.stringMatching(/^urn:problem:[a-z0-9-]+$/),
      title: expect.any(String),
      status,
      detail: expect.any(String),
      code: code ?? expect.stringMatching(/^[A-Z0-9_]+$/),
      requestId,
    }),
  );
  const text = JSON.stringify(response.body);
  for (const leak of LEAKS) expect(text).not.toMatch(leak);
}

describe('errors (e2e)', () => {
  let t: TestApp;
  let wallet: TestWallet;

  beforeAll(async () => {
    t = await startTestApp();
    wallet = await createWallet(t.api, 1_000);
  });
  afterAll(async () => {
    await t.close();
  });

  const depositPath = () => `/wallets/${wallet.id}/deposit`;

  async function balance(): Promise<number> {
    return (await t.api.get(`/wallets/${wallet.id}`, { userId: wallet.userId })).body.balance as number;
  }

  describe('400', () => {
    it.each([
      ['truncated JSON', '{"amount": 1'],
      ['not JSON at all', 'amount=100'],
      ['a bare string', '"100"'],
      ['trailing garbage', '{"amount": 100} x'],
    ])('invalid JSON body (%s) is 400 and moves nothing', async (_name, rawBody) => {
      const response = await t.api.post(depositPath(), { userId: wallet.userId, rawBody });
      expectProblem(response, 400);
      expect(await balance()).toBe(1_000);
    });

    it('an empty body with Content-Type application/json is 400', async () => {
      const response = await t.api.post(depositPath(), {
        userId: wallet.userId,
        rawBody: '',
        headers: { 'content-type': 'application/json' },
      });
      expectProblem(response, 400);
    });

    it.each([
      [{ amount: '100' }],
      [{ amount: true }],
      [{ amount: null }],
      [{ amount: [100] }],
      [{ amount: { value: 100 } }],
      [[{ amount: 100 }]],
    ])('wrong types %j are 400 VALIDATION_FAILED naming amount', async (body) => {
      const response = await t.api.post(depositPath(), { userId: wallet.userId, body });
      expectProblem(response, 400, 'VALIDATION_FAILED');
      expect(response.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field: 'amount' })]));
      expect(await balance()).toBe(1_000);
    });

    it('an unknown field is 400 naming it', async () => {
      const response = await t.api.post(depositPath(), { userId: wallet.userId, body: { amount: 100, admin: true } });
      expectProblem(response, 400, 'VALIDATION_FAILED');
      expect(response.body.errors).toEqual([expect.objectContaining({ field: 'admin' })]);
      expect(await balance()).toBe(1_000);
    });

    it('a prototype-pollution body is refused and pollutes nothing', async () => {
      const response = await t.api.post(depositPath(), {
        userId: wallet.userId,
        rawBody: '{"amount": 100, "__proto__": {"polluted": true}}',
      });
      expectProblem(response, 400);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('a malformed path id is 400 naming it, not a database error', async () => {
      const response = await t.api.get('/wallets/not-a-uuid', { userId: wallet.userId });
      expectProblem(response, 400, 'VALIDATION_FAILED');
      expect(response.body.errors).toEqual([expect.objectContaining({ field: 'walletId' })]);
    });
  });

  describe('401', () => {
    it('no X-User-Id is 401', async () => {
      expectProblem(await t.api.post('/wallets'), 401, 'UNAUTHENTICATED');
      expectProblem(await t.api.get(`/wallets/${wallet.id}`), 401, 'UNAUTHENTICATED');
    });

    it.each([['not-a-uuid'], ['12345'], [`${randomUUID()}x`], ["' OR 1=1 --"], ['']])(
      'a malformed X-User-Id %j is 401',
      async (userId) => {
        const response = await t.api.get(`/wallets/${wallet.id}`, { headers: { 'x-user-id': userId } });
        expectProblem(response, 401, 'UNAUTHENTICATED');
      },
    );

    it('identity is checked before the body: no X-User-Id with a bad body is still 401 and moves nothing', async () => {
      const response = await t.api.post(depositPath(), { body: { amount: 'lots' } });
      expectProblem(response, 401);
      expect(await balance()).toBe(1_000);
    });
  });

  describe('404', () => {
    it('an unknown route is 404 problem details', async () => {
      expectProblem(await t.api.get('/no/such/route', { userId: wallet.userId }), 404);
      expectProblem(await t.api.post('/wallets/x/y/z', { userId: wallet.userId, body: {} }), 404);
    });

    it('an unknown wallet is 404 WALLET_NOT_FOUND', async () => {
      expectProblem(await t.api.get(`/wallets/${randomUUID()}`, { userId: wallet.userId }), 404, 'WALLET_NOT_FOUND');
    });
  });

  describe('413 and 415', () => {
    it('a body over 16 KiB is 413 and moves nothing', async () => {
      const rawBody = JSON.stringify({ amount: 100, padding: 'x'.repeat(17 * 1024) });
      const response = await t.api.post(depositPath(), { userId: wallet.userId, rawBody });
      expectProblem(response, 413);
      expect(await balance()).toBe(1_000);
    });

    it('a body just under 16 KiB reaches validation (400, not 413)', async () => {
      const rawBody = JSON.stringify({ amount: 100, padding: 'x'.repeat(15 * 1024) });
      const response = await t.api.post(depositPath(), { userId: wallet.userId, rawBody });
      expectProblem(response, 400, 'VALIDATION_FAILED');
    });

    it.each([['application/xml'], ['application/x-www-form-urlencoded'], ['text/plain'], ['multipart/form-data; boundary=x']])(
      'Content-Type %s on a JSON route is 415 and moves nothing',
      async (contentType) => {
        const response = await t.api.post(depositPath(), {
          userId: wallet.userId,
          rawBody: contentType.startsWith('application/x-www') ? 'amount=100' : '{"amount":100}',
          headers: { 'content-type': contentType },
        });
        expectProblem(response, 415);
        expect(await balance()).toBe(1_000);
      },
    );
  });

  describe('request id', () => {
    it('a well-formed client X-Request-Id is echoed in the header and the problem', async () => {
      const requestId = `gw-${randomUUID()}`;
      const response = await t.api.get(`/wallets/${randomUUID()}`, {
        userId: wallet.userId,
        headers: { 'x-request-id': requestId },
      });
      expect(response.headers.get('x-request-id')).toBe(requestId);
      expect(response.body.requestId).toBe(requestId);
    });

    it('successful responses carry a request id too', async () => {
      const requestId = 'trace:abc.123_x-y';
      const response = await t.api.get(`/wallets/${wallet.id}`, {
        userId: wallet.userId,
        headers: { 'x-request-id': requestId },
      });
      expect(response.status).toBe(200);
      expect(response.headers.get('x-request-id')).toBe(requestId);
    });

    it.each([['has spaces in it'], ['x'.repeat(200)], ['<script>'], ['a/b']])(
      'a malformed client X-Request-Id %j is replaced',
      async (requestId) => {
        const response = await t.api.get(`/wallets/${randomUUID()}`, {
          userId: wallet.userId,
          headers: { 'x-request-id': requestId },
        });
        const returned = response.headers.get('x-request-id');
        expect(returned).toMatch(/^[0-9a-f-]{36}$/);
        expect(returned).not.toBe(requestId);
        expectProblem(response, 404);
      },
    );

    it('generated request ids differ between requests', async () => {
      const ids = await Promise.all(
        Array.from({ length: 5 }, async () => (await t.api.get('/health')).headers.get('x-request-id')),
      );
      expect(new Set(ids).size).toBe(5);
    });
  });
});
