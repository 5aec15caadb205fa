import { parse } from 'csv-parse/sync';
import { randomUUID } from 'node:crypto';
import { createWallet, purchase } from '../factories/wallets.factory';
import { ADMIN_USER_ID, startTestApp, TestApp } from '../setup/test-app';

/** Ledger filters, balance at an instant and CSV statements (ADR 0046). */
describe('wallet statements (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  const pause = () => new Promise((resolve) => setTimeout(resolve, 5));

  it('filters the ledger by type and period, and answers balance and carry at an instant', async () => {
    const buyer = await createWallet(t.api, 1_000);
    const author = await createWallet(t.api);
    await pause();
    const sale1 = await purchase(t.api, buyer, author, 99);
    await pause();
    const between = new Date().toISOString();
    await pause();
    const sale2 = await purchase(t.api, buyer, author, 99);
    await t.api.post(`/purchases/${sale2.body.id}/refunds`, { userId: ADMIN_USER_ID, idempotencyKey: randomUUID(), body: { amount: 50 } });

    const purchases = await t.api.get(`/wallets/${buyer.id}/ledger?type=purchase`, { userId: buyer.userId });
    expect(purchases.body.items.map((item: { amount: number }) => item.amount)).toEqual([-99, -99]);
    const refunds = await t.api.get(`/wallets/${buyer.id}/ledger?type=refund`, { userId: buyer.userId });
    expect(refunds.body.items).toEqual([expect.objectContaining({ type: 'refund', amount: 50, purchaseId: sale2.body.id })]);
    const early = await t.api.get(`/wallets/${buyer.id}/ledger?to=${encodeURIComponent(between)}`, { userId: buyer.userId });
    expect(early.body.items.map((item: { type: string }) => item.type)).toEqual(['purchase', 'deposit']);
    const late = await t.api.get(`/wallets/${buyer.id}/ledger?from=${encodeURIComponent(between)}`, { userId: buyer.userId });
    expect(late.body.items.map((item: { type: string }) => item.type)).toEqual(['refund', 'purchase']);

    const at = await t.api.get(`/wallets/${author.id}/balance?at=${encodeURIComponent(between)}`, { userId: author.userId });
    expect(at.status).toBe(200);
    expect(at.body).toEqual({ walletId: author.id, at: between, balance: 69, fractionalBalance: 30 });
    const now = await t.api.get(`/wallets/${author.id}`, { userId: author.userId });
    const atNow = await t.api.get(`/wallets/${author.id}/balance?at=${encodeURIComponent(new Date().toISOString())}`, { userId: author.userId });
    expect({ balance: atNow.body.balance, fractionalBalance: atNow.body.fractionalBalance }).toEqual({
      balance: now.body.balance,
      fractionalBalance: now.body.fractionalBalance,
    });
    const before = await t.api.get(`/wallets/${author.id}/balance?at=2020-01-01`, { userId: author.userId });
    expect(before.body).toMatchObject({ balance: 0, fractionalBalance: 0 });
    expect(sale1.status).toBe(201);
  });

  it('streams a statement as RFC 4180 CSV with opening and closing balances that match the postings', async () => {
    const buyer = await createWallet(t.api, 5_000);
    const author = await createWallet(t.api);
    await pause();
    const from = new Date().toISOString();
    await pause();
    for (const price of [100, 250, 999]) expect((await purchase(t.api, buyer, author, price)).status).toBe(201);
    await pause();
    const to = new Date().toISOString();
    const response = await fetch(`${t.baseUrl}/wallets/${buyer.id}/statement.csv?from=${encodeURIComponent(from)}&to=${encodeURIComponent(to)}`, {
      headers: { 'x-user-id': buyer.userId },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/csv/);
    const text = await response.text();
    expect(text.split('\r\n')[0]).toBe('createdAt,type,amount,balance,id,transactionId,purchaseId');
    const rows = parse(text, { columns: true }) as Record<string, string>[];
    expect(rows[0]).toMatchObject({ createdAt: from, type: 'opening_balance', balance: '5000' });
    expect(rows.slice(1, -1).map((row) => [row.type, row.amount, row.balance])).toEqual([
      ['purchase', '-100', '4900'],
      ['purchase', '-250', '4650'],
      ['purchase', '-999', '3651'],
    ]);
    expect(rows[rows.length - 1]).toMatchObject({ createdAt: to, type: 'closing_balance', balance: '3651' });
  });

  it('refuses bad input with a 400 naming the field, and someone else\'s wallet with a 404', async () => {
    const wallet = await createWallet(t.api);
    const stranger = await createWallet(t.api);
    const cases: Array<[string, string]> = [
      [`/wallets/${wallet.id}/ledger?type=gift`, 'type'],
      [`/wallets/${wallet.id}/ledger?from=soon`, 'from'],
      [`/wallets/${wallet.id}/ledger?from=2026-02-02&to=2026-02-01`, 'to'],
      [`/wallets/${wallet.id}/balance`, 'at'],
      [`/wallets/${wallet.id}/balance?at=2026-02-30`, 'at'],
      [`/wallets/${wallet.id}/statement.csv?to=yesterday`, 'to'],
    ];
    for (const [path, field] of cases) {
      const response = await t.api.get(path, { userId: wallet.userId });
      expect({ path, status: response.status, fields: response.body.errors?.map((e: { field: string }) => e.field) }).toEqual({
        path,
        status: 400,
        fields: expect.arrayContaining([field]),
      });
    }
    expect((await t.api.get(`/wallets/${wallet.id}/balance?at=2026-01-01`, { userId: stranger.userId })).status).toBe(404);
    expect((await t.api.get(`/wallets/${wallet.id}/statement.csv`, { userId: stranger.userId })).status).toBe(404);
  });
});
