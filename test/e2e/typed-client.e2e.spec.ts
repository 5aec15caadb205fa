import { randomUUID } from 'node:crypto';
import { createClient } from '../../client';
import { createWallet } from '../factories/wallets.factory';
import { startTestApp, TestApp } from '../setup/test-app';

function compileOnly(_typeChecks: () => unknown): void {}

/** The committed typed client (client/) against a real server: what the README shows integrators. */
describe('typed client (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  it('buys, replays a retry with the same Idempotency-Key, and surfaces problems typed', async () => {
    const buyerUserId = randomUUID();
    const api = createClient({ baseUrl: t.baseUrl, headers: { 'X-User-Id': buyerUserId } });
    const author = await createWallet(t.api);

    const wallet = await api.request('post', '/wallets', {});
    if (!wallet.ok) throw new Error(`wallet: ${wallet.problem.detail}`);
    const walletId = wallet.data.id;

    const funded = await api.request('post', '/wallets/{walletId}/deposit', {
      path: { walletId },
      body: { amount: 500 },
    });
    expect(funded.ok && funded.data.balance).toBe(500);

    const key = randomUUID();
    const buy = () =>
      api.request('post', '/purchases', {
        header: { 'Idempotency-Key': key },
        body: { buyerWalletId: walletId, authorWalletId: author.id, itemPrice: 99 },
      });
    const first = await buy();
    const retry = await buy();
    if (!first.ok || !retry.ok) throw new Error('purchase failed');
    expect(first).toMatchObject({ status: 201, replayed: false, data: { itemPrice: 99, authorAmount: 69, platformAmount: 30 } });
    expect(retry).toMatchObject({ status: 201, replayed: true, data: first.data });

    const tooDear = await api.request('post', '/purchases', {
      header: { 'Idempotency-Key': randomUUID() },
      body: { buyerWalletId: walletId, authorWalletId: author.id, itemPrice: 10_000 },
    });
    expect(tooDear).toMatchObject({ ok: false, status: 402, problem: { code: 'INSUFFICIENT_FUNDS' } });

    const ledger = await api.request('get', '/wallets/{walletId}/ledger', { path: { walletId }, query: { limit: 1 } });
    expect(ledger.ok && ledger.data.items.map((item) => item.amount)).toEqual([-99]);

    // Compile-time only (never called): `npm run typecheck` fails if these calls ever type-check.
    compileOnly(() => [
      // @ts-expect-error itemPrice is a number of cents, never a string
      api.request('post', '/purchases', { header: { 'Idempotency-Key': key }, body: { buyerWalletId: walletId, authorWalletId: author.id, itemPrice: '99' } }),
      // @ts-expect-error a purchase needs an Idempotency-Key
      api.request('post', '/purchases', { body: { buyerWalletId: walletId, authorWalletId: author.id, itemPrice: 99 } }),
      // @ts-expect-error there is no such path
      api.request('get', '/wallet/{walletId}', { path: { walletId } }),
    ]);
  });
});
