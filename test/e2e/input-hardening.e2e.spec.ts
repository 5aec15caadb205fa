import { randomUUID } from 'node:crypto';
import { createWallet, purchase, TestWallet } from '../factories/wallets.factory';
import { ApiResponse } from '../setup/api-client';
import { startTestApp, TestApp } from '../setup/test-app';

/**
 * Input that JSON.parse and class-validator used to accept quietly: repeated keys (the last one
 * won), and keys that are names of Object.prototype (dropped, or merged by later code). Also the
 * headers that every answer carries, whether a route or the router produced it.
 */
describe('input hardening (e2e)', () => {
  let t: TestApp;
  let wallet: TestWallet;
  let author: TestWallet;

  beforeAll(async () => {
    t = await startTestApp();
    wallet = await createWallet(t.api, 1_000);
    author = await createWallet(t.api);
  });
  afterAll(async () => {
    await t.close();
  });

  async function balanceOf(target: TestWallet): Promise<number> {
    return (await t.api.get(`/wallets/${target.id}`, { userId: target.userId })).body.balance as number;
  }

  function expectFieldRefused(response: ApiResponse, field: string): void {
    expect(response.status).toBe(400);
    expect(response.headers.get('content-type')).toMatch(/^application\/problem\+json/);
    expect(response.body).toMatchObject({ code: 'VALIDATION_FAILED', requestId: response.headers.get('x-request-id') });
    expect(response.body.errors).toEqual(expect.arrayContaining([expect.objectContaining({ field })]));
    expect(response.body.detail).toContain(field);
  }

  describe('duplicate keys', () => {
    it.each([
      ['the same key twice', '{"amount":1,"amount":1000000000}'],
      ['the second spelled with an escape', '{"amount":1,"am\\u006funt":1000000000}'],
      ['three times', '{"amount":1,"amount":2,"amount":3}'],
    ])('a deposit with %s is 400 naming amount and moves nothing', async (_name, rawBody) => {
      const response = await t.api.post(`/wallets/${wallet.id}/deposit`, { userId: wallet.userId, rawBody });
      expectFieldRefused(response, 'amount');
      expect(response.body.errors[0].message).toMatch(/only once/);
      expect(await balanceOf(wallet)).toBe(1_000);
    });

    it('a purchase whose price is given twice is 400 naming itemPrice and moves nothing', async () => {
      const rawBody = `{"buyerWalletId":"${wallet.id}","authorWalletId":"${author.id}","itemPrice":1,"itemPrice":999}`;
      const response = await t.api.post('/purchases', { userId: wallet.userId, idempotencyKey: randomUUID(), rawBody });
      expectFieldRefused(response, 'itemPrice');
      expect(await balanceOf(wallet)).toBe(1_000);
      expect(await balanceOf(author)).toBe(0);
    });

    it('a withdrawal with a repeated key is 400 too', async () => {
      const response = await t.api.post(`/wallets/${wallet.id}/withdrawals`, {
        userId: wallet.userId,
        idempotencyKey: randomUUID(),
        rawBody: '{"amount":1000,"amount":1}',
      });
      expectFieldRefused(response, 'amount');
      expect(await balanceOf(wallet)).toBe(1_000);
    });
  });

  describe('names of Object.prototype', () => {
    const reserved = ['__proto__', 'constructor', 'prototype', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__'];

    it.each(reserved)('a body field named %s is 400 naming it and moves nothing', async (key) => {
      for (const value of ['1', '{}', '{"polluted":true}', 'null']) {
        const rawBody = `{"amount":100,"${key}":${value}}`;
        const response = await t.api.post(`/wallets/${wallet.id}/deposit`, { userId: wallet.userId, rawBody });
        expectFieldRefused(response, key);
        expect(response.body.errors).toEqual([{ field: key, message: `property ${key} should not exist` }]);
      }
      expect(await balanceOf(wallet)).toBe(1_000);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    });

    it('a reserved name nested inside another field is named by its path', async () => {
      const response = await t.api.post('/wallets', { userId: randomUUID(), rawBody: '{"meta":{"toString":1}}' });
      expectFieldRefused(response, 'meta.toString');
    });

    it.each(reserved)('a query parameter named %s is 400 naming it', async (key) => {
      const response = await t.api.get(`/wallets/${wallet.id}/ledger?limit=5&${key}=1`, { userId: wallet.userId });
      expectFieldRefused(response, key);
    });

    it('the same names as values, not keys, are ordinary data', async () => {
      // A string value is never a key: the refusal is about field names only.
      const response = await t.api.post(`/wallets/${wallet.id}/deposit`, {
        userId: wallet.userId,
        rawBody: '{"amount":"toString"}',
      });
      expect(response.status).toBe(400);
      expect(response.body.errors).toEqual([expect.objectContaining({ field: 'amount' })]);
    });
  });

  describe('headers on every answer', () => {
    function expectCommonHeaders(response: ApiResponse): void {
      expect(response.headers.get('x-request-id')).toBeTruthy();
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('content-security-policy')).toContain("default-src 'self'");
      expect(response.headers.get('strict-transport-security')).toContain('max-age=');
      expect(response.headers.get('cache-control')).toBe('no-store');
    }

    it.each([
      ['a malformed escape', '/wallets/%zz'],
      ['a truncated UTF-8 escape', '/wallets/%E0%A4%A'],
      ['an overlong path parameter', `/wallets/${'a'.repeat(600)}`],
    ])('the router refusing %s sends the security headers and the request id', async (_name, path) => {
        const response = await t.api.get(path, { userId: wallet.userId });
        expect(response.status).toBeGreaterThanOrEqual(400);
        expect(response.status).toBeLessThan(500);
        expectCommonHeaders(response);
        expect(response.body.requestId).toBe(response.headers.get('x-request-id'));
    });

    it('an unknown route sends them too', async () => {
      const response = await t.api.get('/no/such/route', { userId: wallet.userId });
      expect(response.status).toBe(404);
      expectCommonHeaders(response);
    });

    it('every response that shows a balance or a payment says Cache-Control: no-store', async () => {
      const owner = { userId: wallet.userId };
      const responses = [
        await t.api.post('/wallets', owner),
        await t.api.get(`/wallets/${wallet.id}`, owner),
        await t.api.post(`/wallets/${wallet.id}/deposit`, { ...owner, body: { amount: 10 } }),
        await t.api.post(`/wallets/${wallet.id}/withdrawals`, { ...owner, idempotencyKey: randomUUID(), body: { amount: 10 } }),
        await purchase(t.api, wallet, author, 10),
        await t.api.get(`/wallets/${wallet.id}/ledger`, owner),
        await t.api.get(`/wallets/${author.id}/royalties`, { userId: author.userId }),
      ];
      for (const response of responses) {
        expect({ status: response.status, cacheControl: response.headers.get('cache-control') }).toEqual({
          status: expect.any(Number),
          cacheControl: 'no-store',
        });
        expect(response.status).toBeLessThan(300);
        expectCommonHeaders(response);
      }
    });
  });
});
