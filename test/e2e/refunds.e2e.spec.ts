import fc from 'fast-check';
import '../setup/seeded';
import { randomUUID } from 'node:crypto';
import { createWallet, deposit, purchase, refund, TestWallet } from '../factories/wallets.factory';
import { expectBooksBalanced } from '../setup/books';
import { ADMIN_USER_ID, PLATFORM_USER_ID, startTestApp, TestApp } from '../setup/test-app';

interface WalletState {
  balance: number;
  fractionalBalance: number;
  debt: number;
}

async function stateOf(t: TestApp, wallet: TestWallet): Promise<WalletState> {
  const response = await t.api.get(`/wallets/${wallet.id}`, { userId: wallet.userId });
  expect(response.status).toBe(200);
  return { balance: response.body.balance, fractionalBalance: response.body.fractionalBalance, debt: response.body.debt };
}

async function platformBalance(t: TestApp): Promise<number> {
  return (await t.api.post('/wallets', { userId: PLATFORM_USER_ID })).body.balance;
}

async function buy(t: TestApp, buyer: TestWallet, author: TestWallet, priceCents: number): Promise<string> {
  const response = await purchase(t.api, buyer, author, priceCents);
  expect(response.status).toBe(201);
  return response.body.id as string;
}

const HOUR_MS = 3_600_000;

async function financialReport(t: TestApp, period: { from: string; to: string }) {
  const queued = await t.api.post('/reports/financial', { userId: ADMIN_USER_ID, body: period });
  expect(queued.status).toBe(202);
  for (let attempt = 0; attempt < 200; attempt++) {
    const read = await t.api.get(`/reports/financial/${queued.body.jobId}`, { userId: ADMIN_USER_ID });
    if (read.body.status === 'completed') return read.body.result;
    if (read.body.status === 'failed') throw new Error(`report failed: ${read.body.error}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error('report did not finish');
}

async function withdraw(t: TestApp, wallet: TestWallet, amountCents: number) {
  return t.api.post(`/wallets/${wallet.id}/withdrawals`, {
    userId: wallet.userId,
    idempotencyKey: randomUUID(),
    body: { amount: amountCents },
  });
}

describe('refunds (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await expectBooksBalanced(t.db.sql);
    await t.close();
  });

  it('takes back exactly 6930 centi-cents when the third of four 99-cent sales is refunded', async () => {
    const buyer = await createWallet(t.api, 1_000);
    const author = await createWallet(t.api);
    const purchaseIds = [];
    for (let i = 0; i < 4; i++) purchaseIds.push(await buy(t, buyer, author, 99));
    expect(await stateOf(t, author)).toEqual({ balance: 277, fractionalBalance: 20, debt: 0 });

    const response = await refund(t.api, author.userId, purchaseIds[2]!, { reason: 'customer_request' });
    expect(response.status).toBe(201);
    expect(response.body).toEqual({
      id: expect.any(String),
      purchaseId: purchaseIds[2],
      amount: 99,
      authorAmount: 70,
      platformAmount: 29,
      reason: 'customer_request',
      createdAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT.*Z$/),
    });
    // 27720 - 6930 = 20790 centi-cents: 207 cents and a carry of 90.
    expect(await stateOf(t, author)).toEqual({ balance: 207, fractionalBalance: 90, debt: 0 });
    expect((await stateOf(t, buyer)).balance).toBe(1_000 - 4 * 99 + 99);

    const read = await t.api.get(`/purchases/${purchaseIds[2]}`, { userId: buyer.userId });
    expect(read.status).toBe(200);
    expect(read.body).toMatchObject({ status: 'refunded', refundedAmount: 99, refunds: [response.body] });
    const untouched = await t.api.get(`/purchases/${purchaseIds[0]}`, { userId: buyer.userId });
    expect(untouched.body).toMatchObject({ status: 'completed', refundedAmount: 0, refunds: [] });

    // The refund.created event carries the refund exactly as the API returned it.
    const events = await t.db.sql<{ data: unknown }[]>`
      SELECT data FROM events WHERE type = 'refund.created' AND data->>'id' = ${response.body.id as string}`;
    expect(events.map((event) => event.data)).toEqual([response.body]);

    const ledger = await t.api.get(`/wallets/${buyer.id}/ledger`, { userId: buyer.userId });
    expect(ledger.body.items[0]).toMatchObject({ type: 'refund', amount: 99, purchaseId: purchaseIds[2], transactionId: response.body.id });
  });

  it('leaves a fresh author exactly as before its only sale after a full refund, and the platform too', async () => {
    const buyer = await createWallet(t.api, 5_000);
    const author = await createWallet(t.api);
    const platformBefore = await platformBalance(t);
    const purchaseId = await buy(t, buyer, author, 1_999);
    const response = await refund(t.api, ADMIN_USER_ID, purchaseId);
    expect(response.status).toBe(201);
    expect(response.body).toMatchObject({ amount: 1_999, authorAmount: 1_399, platformAmount: 600, reason: null });
    expect(await stateOf(t, author)).toEqual({ balance: 0, fractionalBalance: 0, debt: 0 });
    expect(await stateOf(t, buyer)).toEqual({ balance: 5_000, fractionalBalance: 0, debt: 0 });
    expect(await platformBalance(t)).toBe(platformBefore);
  });

  it('ends any partial refunds adding up to the price where one full refund ends', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 500 }), { minLength: 1, maxLength: 4 }),
        fc.integer({ min: 1, max: 500 }),
        fc.array(fc.integer({ min: 1, max: 100 }), { minLength: 1, maxLength: 5 }),
        async (earlierPrices, price, weights) => {
          // Two authors with the same history: one refunded at once, the other in parts.
          const buyer = await createWallet(t.api, 10_000);
          const whole = await createWallet(t.api);
          const parted = await createWallet(t.api);
          for (const earlier of earlierPrices) {
            await buy(t, buyer, whole, earlier);
            await buy(t, buyer, parted, earlier);
          }
          const wholeId = await buy(t, buyer, whole, price);
          const partedId = await buy(t, buyer, parted, price);
          expect((await refund(t.api, whole.userId, wholeId)).status).toBe(201);
          const total = weights.reduce((a, b) => a + b, 0);
          let given = 0;
          for (const [i] of weights.entries()) {
            const upTo = i === weights.length - 1 ? price : Math.floor((price * weights.slice(0, i + 1).reduce((a, b) => a + b, 0)) / total);
            if (upTo <= given) continue;
            const part = await refund(t.api, parted.userId, partedId, { amount: upTo - given });
            expect(part.status).toBe(201);
            expect(part.body.authorAmount + part.body.platformAmount).toBe(upTo - given);
            given = upTo;
          }
          expect(await stateOf(t, parted)).toEqual(await stateOf(t, whole));
          const read = await t.api.get(`/purchases/${partedId}`, { userId: parted.userId });
          expect(read.body).toMatchObject({ status: 'refunded', refundedAmount: price });
        },
      ),
      { numRuns: 12 },
    );
  });

  it('lets only an admin or the author refund: the buyer and strangers get 404 and nothing moves', async () => {
    const buyer = await createWallet(t.api, 1_000);
    const author = await createWallet(t.api);
    const purchaseId = await buy(t, buyer, author, 500);
    for (const userId of [buyer.userId, randomUUID()]) {
      const response = await refund(t.api, userId, purchaseId);
      expect(response.status).toBe(404);
      expect(response.body.code).toBe('PURCHASE_NOT_FOUND');
    }
    expect((await refund(t.api, author.userId, randomUUID())).status).toBe(404);
    expect(await stateOf(t, buyer)).toEqual({ balance: 500, fractionalBalance: 0, debt: 0 });
  });

  it.each([
    [{ amount: 0 }, 'amount'],
    [{ amount: -5 }, 'amount'],
    [{ amount: 1.5 }, 'amount'],
    [{ amount: '10' }, 'amount'],
    [{ amount: null }, 'amount'],
    [{ amount: 1_000_000_001 }, 'amount'],
    [{ reason: 'x'.repeat(501) }, 'reason'],
    [{ reason: 7 }, 'reason'],
    [{ amount: 10, surprise: true }, 'surprise'],
  ])('refuses %o with a 400 naming %s and changes nothing', async (body, field) => {
    const buyer = await createWallet(t.api, 1_000);
    const author = await createWallet(t.api);
    const purchaseId = await buy(t, buyer, author, 100);
    const key = randomUUID();
    const response = await t.api.post(`/purchases/${purchaseId}/refunds`, { userId: author.userId, idempotencyKey: key, body });
    expect(response.status).toBe(400);
    expect(response.body.errors.map((e: { field: string }) => e.field)).toContain(field);
    expect(await stateOf(t, buyer)).toEqual({ balance: 900, fractionalBalance: 0, debt: 0 });
    // The key stays free.
    expect((await refund(t.api, author.userId, purchaseId, { amount: 10 }, key)).status).toBe(201);
  });

  it('refuses more than what is left with 422 REFUND_EXCEEDS_REMAINING, and a refused key stays free', async () => {
    const buyer = await createWallet(t.api, 1_000);
    const author = await createWallet(t.api);
    const purchaseId = await buy(t, buyer, author, 99);
    expect((await refund(t.api, author.userId, purchaseId, { amount: 90 })).status).toBe(201);
    const key = randomUUID();
    const over = await refund(t.api, author.userId, purchaseId, { amount: 10 }, key);
    expect(over.status).toBe(422);
    expect(over.body.code).toBe('REFUND_EXCEEDS_REMAINING');
    expect(over.body.detail).toContain('9 cents');
    const rest = await refund(t.api, author.userId, purchaseId, { amount: 9 }, key);
    expect(rest.status).toBe(201);
    const nothingLeft = await refund(t.api, author.userId, purchaseId);
    expect(nothingLeft.status).toBe(422);
    expect(nothingLeft.body.code).toBe('REFUND_EXCEEDS_REMAINING');
  });

  it('replays a retried refund and refuses its key with another body', async () => {
    const buyer = await createWallet(t.api, 1_000);
    const author = await createWallet(t.api);
    const purchaseId = await buy(t, buyer, author, 300);
    const key = randomUUID();
    const first = await refund(t.api, author.userId, purchaseId, { amount: 100 }, key);
    const again = await refund(t.api, author.userId, purchaseId, { amount: 100 }, key);
    expect(again.status).toBe(201);
    expect(again.headers.get('idempotent-replayed')).toBe('true');
    expect(again.body).toEqual(first.body);
    const other = await refund(t.api, author.userId, purchaseId, { amount: 50 }, key);
    expect(other.status).toBe(422);
    expect(other.body.code).toBe('IDEMPOTENCY_KEY_REUSED');
    expect((await stateOf(t, buyer)).balance).toBe(800);
    // Refunds are counted by outcome like the other money operations.
    const metrics = (await t.api.get('/metrics')).body as string;
    for (const outcome of ['completed', 'replayed', 'key_reused']) {
      expect(metrics).toMatch(new RegExp(`wallet_operations_total\\{operation="refund",outcome="${outcome}"\\} [1-9]`));
    }
  });

  it('50 parallel refunds of 10 cents on a 99-cent purchase: exactly 9 succeed, then the last 9 cents', async () => {
    const buyer = await createWallet(t.api, 1_000);
    const author = await createWallet(t.api);
    const purchaseId = await buy(t, buyer, author, 99);
    const responses = await Promise.all(Array.from({ length: 50 }, () => refund(t.api, ADMIN_USER_ID, purchaseId, { amount: 10 })));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(9);
    expect(statuses.filter((s) => s !== 201).every((s) => s === 422)).toBe(true);
    const last = await refund(t.api, ADMIN_USER_ID, purchaseId);
    expect(last.status).toBe(201);
    expect(last.body.amount).toBe(9);
    expect(await stateOf(t, buyer)).toEqual({ balance: 1_000, fractionalBalance: 0, debt: 0 });
    expect(await stateOf(t, author)).toEqual({ balance: 0, fractionalBalance: 0, debt: 0 });
  });

  it('refunds the buyer even when the author already withdrew: the rest becomes debt, repaid by later credits', async () => {
    const buyer = await createWallet(t.api, 10_000);
    const author = await createWallet(t.api);
    const purchaseId = await buy(t, buyer, author, 1_000);
    expect(await stateOf(t, author)).toEqual({ balance: 700, fractionalBalance: 0, debt: 0 });
    expect((await withdraw(t, author, 650)).status).toBe(201);

    const response = await refund(t.api, ADMIN_USER_ID, purchaseId);
    expect(response.body).toMatchObject({ amount: 1_000, authorAmount: 700, platformAmount: 300 });
    expect(await stateOf(t, author)).toEqual({ balance: 0, fractionalBalance: 0, debt: 650 });
    expect((await stateOf(t, buyer)).balance).toBe(10_000);
    await expectBooksBalanced(t.db.sql);

    // Withdrawals see only the balance; a deposit repays the debt first; so does a royalty.
    expect((await withdraw(t, author, 1)).status).toBe(402);
    await deposit(t.api, author, 600);
    expect(await stateOf(t, author)).toEqual({ balance: 0, fractionalBalance: 0, debt: 50 });
    await buy(t, buyer, author, 100);
    expect(await stateOf(t, author)).toEqual({ balance: 20, fractionalBalance: 0, debt: 0 });
    await expectBooksBalanced(t.db.sql);
  });

  it('shows refunds in the financial report, the royalties and the leaderboard, from rollups and at the edges alike', async () => {
    // A database of its own, so that the report sees exactly this activity.
    const own = await startTestApp();
    try {
      const [clock] = await own.db.sql<{ now: Date }[]>`SELECT clock_timestamp()::timestamptz(3) AS now`;
      const start = new Date(clock!.now);
      const buyer = await createWallet(own.api, 10_000);
      const author = await createWallet(own.api);
      const ids = [await buy(own, buyer, author, 1_000), await buy(own, buyer, author, 99), await buy(own, buyer, author, 250)];
      expect((await refund(own.api, ADMIN_USER_ID, ids[1]!)).body).toMatchObject({ authorAmount: 69, platformAmount: 30 });
      expect((await refund(own.api, author.userId, ids[0]!, { amount: 400 })).body).toMatchObject({ authorAmount: 280 });
      // The author withdraws what is left, then the rest of the first sale is refunded: 420 cents of debt.
      const left = (await stateOf(own, author)).balance;
      expect((await withdraw(own, author, left)).status).toBe(201);
      expect((await refund(own.api, ADMIN_USER_ID, ids[0]!)).body).toMatchObject({ authorAmount: 420 });
      const [after] = await own.db.sql<{ now: Date }[]>`SELECT clock_timestamp()::timestamptz(3) AS now`;
      const end = new Date(new Date(after!.now).getTime() + 1);

      const exact = { from: start.toISOString(), to: end.toISOString() };
      const hours = {
        from: new Date(Math.floor(start.getTime() / HOUR_MS) * HOUR_MS - HOUR_MS).toISOString(),
        to: new Date(Math.floor(end.getTime() / HOUR_MS) * HOUR_MS + 2 * HOUR_MS).toISOString(),
      };
      const volume = 1_349;
      const royalties = 700 + 69 + 175; // 944: carries 0 -> 0 -> 30 -> 30
      const takenBack = 69 + 280 + 420;
      for (const period of [exact, hours]) {
        expect(await financialReport(own, period)).toMatchObject({
          totalPurchaseVolume: volume,
          purchaseCount: 3,
          totalRefunded: 99 + 1_000,
          refundCount: 3,
          totalRoyaltiesPaid: royalties - takenBack,
          platformRevenue: volume - royalties - (1_099 - takenBack),
          outstandingDebt: 420,
        });
        const mine = await own.api.get(`/wallets/${author.id}/royalties?from=${period.from}&to=${period.to}`, { userId: author.userId });
        expect(mine.body).toMatchObject({
          salesCount: 3,
          grossVolume: volume,
          royaltiesCredited: royalties - takenBack,
          refundedVolume: 1_099,
          royaltiesTakenBack: takenBack,
        });
        const top = await own.api.get(`/reports/authors/top?from=${period.from}&to=${period.to}`, { userId: ADMIN_USER_ID });
        expect(top.body.items).toEqual([
          { authorWalletId: author.id, salesCount: 3, grossVolume: volume, royaltiesCredited: royalties - takenBack, refundedVolume: 1_099, royaltiesTakenBack: takenBack },
        ]);
      }
      expect(await stateOf(own, author)).toEqual({ balance: 0, fractionalBalance: 0, debt: 420 });
      await expectBooksBalanced(own.db.sql);
    } finally {
      await own.close();
    }
  });

  it('keeps every balance and the books exact when refunds race purchases and withdrawals of the same author', async () => {
    const author = await createWallet(t.api, 2_000);
    const buyers = await Promise.all(Array.from({ length: 4 }, () => createWallet(t.api, 20_000)));
    const earlier = [];
    for (const buyer of buyers) for (let i = 0; i < 5; i++) earlier.push(await buy(t, buyer, author, 100 + i * 37));
    const work: Promise<{ status: number }>[] = [];
    for (const [i, purchaseId] of earlier.entries()) {
      work.push(refund(t.api, author.userId, purchaseId, i % 2 === 0 ? {} : { amount: 33 }));
      work.push(purchase(t.api, buyers[i % buyers.length]!, author, 57 + i));
      if (i % 3 === 0) work.push(withdraw(t, author, 150));
    }
    const statuses = (await Promise.all(work)).map((r) => r.status);
    expect(statuses.every((s) => s === 201 || s === 402)).toBe(true);
    const state = await stateOf(t, author);
    expect(state.balance === 0 || state.debt === 0).toBe(true);
    await expectBooksBalanced(t.db.sql);
  });
});
