import { randomUUID } from 'node:crypto';
import { createWallet, TestWallet } from '../factories/wallets.factory';
import { replayable, seededRandom } from '../setup/seeded';
import { expectBooksBalanced } from '../setup/books';
import { ADMIN_USER_ID, PLATFORM_USER_ID, startTestApp, TestApp } from '../setup/test-app';
import { movePayeePosition, payeeRefundParts, splitAmongPayees } from '../../src/purchases/royalty-split';

/** Royalty terms per item and co-author splits (ADR 0045), over HTTP on real PostgreSQL. */
describe('royalty terms and co-author splits (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  const putTerms = (itemId: string, body: unknown, userId = ADMIN_USER_ID) =>
    t.api.request('PUT', `/royalty-terms/${encodeURIComponent(itemId)}`, { userId, body });

  async function position(wallet: TestWallet): Promise<{ balance: number; fractionalBalance: number; debt: number }> {
    const response = await t.api.get(`/wallets/${wallet.id}`, { userId: wallet.userId });
    return { balance: response.body.balance, fractionalBalance: response.body.fractionalBalance, debt: response.body.debt ?? 0 };
  }

  function buy(buyer: TestWallet, body: Record<string, unknown>, key: string = randomUUID()) {
    return t.api.post('/purchases', { userId: buyer.userId, idempotencyKey: key, body: { buyerWalletId: buyer.id, ...body } });
  }

  it('sets, versions and reads terms; the same terms again change nothing; admins only', async () => {
    const [a, b] = [await createWallet(t.api), await createWallet(t.api)];
    const itemId = `book/${randomUUID()}`;
    const terms = { royaltyPercent: 60, payees: [{ walletId: a.id, share: 2500 }, { walletId: b.id, share: 7500 }] };
    expect((await putTerms(itemId, terms, a.userId)).status).toBe(403);
    const first = await putTerms(itemId, terms);
    expect(first.status).toBe(201);
    expect(first.body).toEqual({ itemId, version: 1, royaltyPercent: 60, payees: terms.payees, createdAt: expect.any(String) });
    const again = await putTerms(itemId, terms);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    const changed = await putTerms(itemId, { payees: [{ walletId: b.id, share: 10_000 }] });
    expect(changed.status).toBe(201);
    expect(changed.body).toMatchObject({ version: 2, royaltyPercent: 70, payees: [{ walletId: b.id, share: 10_000 }] });
    const read = await t.api.get(`/royalty-terms/${encodeURIComponent(itemId)}`, { userId: ADMIN_USER_ID });
    expect(read.body).toEqual(changed.body);
    expect((await t.api.get(`/royalty-terms/${encodeURIComponent(itemId)}`, { userId: a.userId })).status).toBe(404);
    expect((await t.api.get(`/royalty-terms/no-such-item`, { userId: ADMIN_USER_ID })).body.code).toBe('ROYALTY_TERMS_NOT_FOUND');
  });

  it.each([
    ['payees', () => ({ payees: [] })],
    ['payees', (w: TestWallet[]) => ({ payees: [{ walletId: w[0]!.id, share: 5000 }, { walletId: w[1]!.id, share: 4999 }] })],
    ['payees', (w: TestWallet[]) => ({ payees: [{ walletId: w[0]!.id, share: 5000 }, { walletId: w[0]!.id, share: 5000 }] })],
    ['payees', () => ({ payees: Array.from({ length: 11 }, () => ({ walletId: randomUUID(), share: 909 })) })],
    ['payees.0.walletId', () => ({ payees: [{ walletId: randomUUID(), share: 10_000 }] })],
    ['payees.0.walletId', () => ({ payees: [{ walletId: 'nope', share: 10_000 }] })],
    ['payees.1.share', (w: TestWallet[]) => ({ payees: [{ walletId: w[0]!.id, share: 10_000 }, { walletId: w[1]!.id, share: 0 }] })],
    ['payees.0.share', (w: TestWallet[]) => ({ payees: [{ walletId: w[0]!.id, share: 99.5 }] })],
    ['royaltyPercent', (w: TestWallet[]) => ({ royaltyPercent: 101, payees: [{ walletId: w[0]!.id, share: 10_000 }] })],
  ])('refuses bad terms with a 400 naming %s', async (field, body) => {
    const wallets = [await createWallet(t.api), await createWallet(t.api)];
    const response = await putTerms(`item-${randomUUID()}`, body(wallets));
    expect(response.status).toBe(400);
    expect(response.body.errors.map((error: { field: string }) => error.field)).toContain(field);
  });

  it('splits a 99-cent sale at 3333/3333/3334: 6930 centi-cents as 2310 each, 23 cents and a carry of 10 per payee', async () => {
    const buyer = await createWallet(t.api, 1_000);
    const payees = [await createWallet(t.api), await createWallet(t.api), await createWallet(t.api)];
    const itemId = `song-${randomUUID()}`;
    const shares = [3333, 3333, 3334];
    await putTerms(itemId, { payees: payees.map((p, i) => ({ walletId: p.id, share: shares[i] })) });
    const sale = await buy(buyer, { itemId, itemPrice: 99 });
    expect(sale.status).toBe(201);
    expect(sale.body).toMatchObject({
      authorWalletId: payees[0]!.id,
      itemId,
      royaltyTermsVersion: 1,
      authorAmount: 69,
      platformAmount: 30,
      payees: payees.map((p) => ({ walletId: p.id, amount: 23 })),
    });
    for (const payee of payees) expect(await position(payee)).toEqual({ balance: 23, fractionalBalance: 10, debt: 0 });
    // Each payee may read it, as an author may.
    expect((await t.api.get(`/purchases/${sale.body.id}`, { userId: payees[2]!.userId })).body).toEqual(sale.body);
    // And finds it by authorWalletId, whatever its position among the payees.
    for (const payee of payees) {
      const found = await t.api.get(`/purchases?authorWalletId=${payee.id}`, { userId: payee.userId });
      expect(found.body.items).toEqual([sale.body]);
    }
  });

  it('lets the platform pay when every payee sweeps its carry on one sale (100% of 1 cent over three payees), and takes it back on refund', async () => {
    const buyer = await createWallet(t.api, 1_000);
    const payees = [await createWallet(t.api), await createWallet(t.api), await createWallet(t.api)];
    const itemId = `tiny-${randomUUID()}`;
    await putTerms(itemId, { royaltyPercent: 100, payees: payees.map((p, i) => ({ walletId: p.id, share: i === 2 ? 3334 : 3333 })) });
    const sales = [];
    for (let sale = 0; sale < 4; sale += 1) sales.push((await buy(buyer, { itemId, itemPrice: 1 })).body);
    // Carries 33/33/34 per sale: the third sale sweeps the third payee, the fourth the other two.
    expect(sales.map((sale) => [sale.payees.map((p: { amount: number }) => p.amount), sale.platformAmount])).toEqual([
      [[0, 0, 0], 1],
      [[0, 0, 0], 1],
      [[0, 0, 1], 0],
      [[1, 1, 0], -1],
    ]);
    for (const sale of sales) {
      const refund = await t.api.post(`/purchases/${sale.id}/refunds`, { userId: ADMIN_USER_ID, idempotencyKey: randomUUID(), body: {} });
      expect(refund.status).toBe(201);
    }
    for (const payee of payees) expect(await position(payee)).toEqual({ balance: 0, fractionalBalance: 0, debt: 0 });
    expect((await position(buyer)).balance).toBe(1_000);
    await expectBooksBalanced(t.db.sql);
  });

  it('splits by the terms version a caller fixes (a capture: what its hold saw), or by none with version 0', async () => {
    const buyer = await createWallet(t.api, 1_000);
    const [author, first, second] = [await createWallet(t.api), await createWallet(t.api), await createWallet(t.api)];
    const itemId = `held-${randomUUID()}`;
    await putTerms(itemId, { payees: [{ walletId: first.id, share: 10_000 }] });
    await putTerms(itemId, { payees: [{ walletId: second.id, share: 10_000 }] });
    const platform = (await t.api.post('/wallets', { userId: PLATFORM_USER_ID })).body.id as string;
    const run = (version: number, authorWalletId: string | null) =>
      t.db.sql<{ outcome: string; author_wallet_id: string; royalty_terms_version: number | null }[]>`
        SELECT outcome, author_wallet_id, royalty_terms_version FROM purchase_execute_batch(
          p_purchase_ids => ${[randomUUID()]}::uuid[], p_user_ids => ${[buyer.userId]}::uuid[],
          p_idempotency_keys => ${[randomUUID()]}::text[], p_request_hashes => ${['h']}::text[],
          p_buyer_wallet_ids => ${[buyer.id]}::uuid[], p_author_wallet_ids => ${[authorWalletId]}::uuid[],
          p_item_prices_cents => ${['100']}::bigint[], p_royalty_percent => 70, p_platform_wallet_id => ${platform}::uuid,
          p_item_ids => ${[itemId]}::text[], p_royalty_terms_versions => ${[version]}::integer[])`;
    expect((await run(1, null))[0]).toMatchObject({ outcome: 'completed', author_wallet_id: first.id, royalty_terms_version: 1 });
    expect((await run(0, author.id))[0]).toMatchObject({ outcome: 'completed', author_wallet_id: author.id, royalty_terms_version: null });
    expect((await position(first)).balance).toBe(70);
    expect((await position(second)).balance).toBe(0);
    expect((await position(author)).balance).toBe(70);
    await expectBooksBalanced(t.db.sql);
  });

  it('refuses a buyer among the payees, and an authorWalletId that is not a payee; without terms authorWalletId is required', async () => {
    const buyer = await createWallet(t.api, 1_000);
    const other = await createWallet(t.api);
    const itemId = `course-${randomUUID()}`;
    await putTerms(itemId, { payees: [{ walletId: other.id, share: 5000 }, { walletId: buyer.id, share: 5000 }] });
    const self = await buy(buyer, { itemId, itemPrice: 100 });
    expect(self.status).toBe(400);
    expect(self.body.code).toBe('SELF_PURCHASE');
    const item2 = `course-${randomUUID()}`;
    await putTerms(item2, { payees: [{ walletId: other.id, share: 10_000 }] });
    const stranger = await createWallet(t.api);
    const notPayee = await buy(buyer, { itemId: item2, itemPrice: 100, authorWalletId: stranger.id });
    expect(notPayee.status).toBe(400);
    expect(notPayee.body.errors[0].field).toBe('authorWalletId');
    expect((await buy(buyer, { itemId: item2, itemPrice: 100, authorWalletId: other.id })).status).toBe(201);
    const noTerms = await buy(buyer, { itemId: `none-${randomUUID()}`, itemPrice: 100 });
    expect(noTerms.status).toBe(400);
    expect(noTerms.body.errors[0].field).toBe('authorWalletId');
    expect((await buy(buyer, { itemPrice: 100 })).body.errors[0].field).toBe('authorWalletId');
    expect((await position(buyer)).balance).toBe(900);
  });

  it('a change of terms never alters a past purchase or its refunds; a full refund restores every payee exactly', async () => {
    const buyer = await createWallet(t.api, 10_000);
    const [a, b, c] = [await createWallet(t.api), await createWallet(t.api), await createWallet(t.api)];
    const itemId = `album-${randomUUID()}`;
    await putTerms(itemId, { royaltyPercent: 80, payees: [{ walletId: a.id, share: 1000 }, { walletId: b.id, share: 9000 }] });
    const sale = await buy(buyer, { itemId, itemPrice: 1_234 });
    expect(sale.body.payees).toEqual([
      { walletId: a.id, amount: 98 },
      { walletId: b.id, amount: 888 },
    ]);
    await putTerms(itemId, { royaltyPercent: 50, payees: [{ walletId: c.id, share: 10_000 }] });
    expect((await t.api.get(`/purchases/${sale.body.id}`, { userId: buyer.userId })).body.payees).toEqual(sale.body.payees);
    for (const amount of [1, 33, 1_200]) {
      const refund = await t.api.post(`/purchases/${sale.body.id}/refunds`, { userId: ADMIN_USER_ID, idempotencyKey: randomUUID(), body: { amount } });
      expect(refund.status).toBe(201);
    }
    for (const payee of [a, b, c]) expect(await position(payee)).toEqual({ balance: 0, fractionalBalance: 0, debt: 0 });
    expect((await position(buyer)).balance).toBe(10_000);
  });

  it("keeps every payee's identity exactly under random sales and partial refunds (seeded)", async () => {
    const random = seededRandom(17);
    await replayable(async () => {
      const buyer = await createWallet(t.api, 10_000_000);
      const payees = await Promise.all(Array.from({ length: 4 }, () => createWallet(t.api)));
      const items = [
        { itemId: `x-${randomUUID()}`, percent: 70, payees: [0, 1, 2], shares: [3333, 3333, 3334] },
        { itemId: `y-${randomUUID()}`, percent: 55, payees: [2, 3], shares: [1, 9999] },
        { itemId: `z-${randomUUID()}`, percent: 100, payees: [3, 1, 0], shares: [5000, 2500, 2500] },
      ];
      for (const item of items) {
        await putTerms(item.itemId, {
          royaltyPercent: item.percent,
          payees: item.payees.map((p, i) => ({ walletId: payees[p]!.id, share: item.shares[i] })),
        });
      }
      // What each payee is owed, in centi-cents, by the rules applied independently here.
      const owed = payees.map(() => 0);
      for (let round = 0; round < 40; round += 1) {
        const item = items[Math.floor(random() * items.length)]!;
        const price = 1 + Math.floor(random() * 2_000);
        const sale = await buy(buyer, { itemId: item.itemId, itemPrice: price });
        expect(sale.status).toBe(201);
        splitAmongPayees(price * item.percent, item.shares).forEach((part, i) => (owed[item.payees[i]!]! += part));
        let refunded = 0;
        while (random() < 0.5 && refunded < price) {
          const amount = 1 + Math.floor(random() * (price - refunded));
          const refund = await t.api.post(`/purchases/${sale.body.id}/refunds`, { userId: ADMIN_USER_ID, idempotencyKey: randomUUID(), body: { amount } });
          expect(refund.status).toBe(201);
          payeeRefundParts({ itemPriceCents: price, royaltyPercent: item.percent, sharesBps: item.shares, refundedBeforeCents: refunded, refundAmountCents: amount }).forEach(
            (part, i) => (owed[item.payees[i]!]! -= part),
          );
          refunded += amount;
        }
      }
      for (const [i, payee] of payees.entries()) {
        const { balance, fractionalBalance, debt } = await position(payee);
        expect({ payee: i, position: 100 * (balance - debt) + fractionalBalance }).toEqual({ payee: i, position: owed[i] });
        expect(movePayeePosition(owed[i]!, 0)).toEqual({ cents: balance - debt, carryAfterCentiCents: fractionalBalance });
      }
      // Reconciliation recomputes every payee's carry, debt, legs and rollups from the parts and finds nothing.
      const queued = await t.api.post('/admin/reconciliations', { userId: ADMIN_USER_ID });
      expect(queued.status).toBe(202);
      let run: { status: string; driftCount: number; drifts: unknown[] } | undefined;
      for (let poll = 0; poll < 600 && run?.status !== 'completed' && run?.status !== 'failed'; poll += 1) {
        if (poll > 0) await new Promise((resolve) => setTimeout(resolve, 50));
        run = (await t.api.get(`/admin/reconciliations/${queued.body.runId}`, { userId: ADMIN_USER_ID })).body;
      }
      expect({ run }).toMatchObject({ run: { status: 'completed', driftCount: 0, drifts: [] } });
      await expectBooksBalanced(t.db.sql);
    });
  });
});
