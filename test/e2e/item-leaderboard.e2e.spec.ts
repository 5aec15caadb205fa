import { randomUUID } from 'node:crypto';
import type { Sql } from 'postgres';
import { ReconciliationService } from '../../src/reconciliation/reconciliation.service';
import { createWallet, refund, TestWallet } from '../factories/wallets.factory';
import { expectBooksBalanced } from '../setup/books';
import { ADMIN_USER_ID, startTestApp, TestApp } from '../setup/test-app';

const HOUR_MS = 3_600_000;
const POLLS_MAX = 600;
const POLL_INTERVAL_MS = 50;

/** One payee's part of one sale or one refund, as the test books it from the API's answers. */
interface Part {
  itemId: string | null;
  walletId: string;
  at: Date;
  salesCount: number;
  grossVolume: number;
  royalty: number;
  refundedVolume: number;
  takenBack: number;
}

interface Ranked {
  authorWalletId: string;
  salesCount: number;
  grossVolume: number;
  royaltiesCredited: number;
  refundedVolume: number;
  royaltiesTakenBack: number;
}

async function dbNow(sql: Sql): Promise<Date> {
  const [row] = await sql<{ now: Date }[]>`SELECT clock_timestamp()::timestamptz(3) AS now`;
  return new Date(row!.now);
}

/** The leaderboard the test's own books give for [from, to), optionally of one item. */
function expectedRanking(parts: readonly Part[], period: { from: Date; to: Date }, itemId?: string): Ranked[] {
  const byWallet = new Map<string, Ranked>();
  for (const part of parts) {
    if (part.at < period.from || part.at >= period.to || (itemId !== undefined && part.itemId !== itemId)) continue;
    const row = byWallet.get(part.walletId) ?? {
      authorWalletId: part.walletId,
      salesCount: 0,
      grossVolume: 0,
      royaltiesCredited: 0,
      refundedVolume: 0,
      royaltiesTakenBack: 0,
    };
    row.salesCount += part.salesCount;
    row.grossVolume += part.grossVolume;
    row.royaltiesCredited += part.royalty - part.takenBack;
    row.refundedVolume += part.refundedVolume;
    row.royaltiesTakenBack += part.takenBack;
    byWallet.set(part.walletId, row);
  }
  return [...byWallet.values()].sort(
    (a, b) => b.royaltiesCredited - a.royaltiesCredited || (a.authorWalletId < b.authorWalletId ? -1 : 1),
  );
}

/**
 * Per-item leaderboard (ADR 0066) and payee-exact author figures: every payee of a split
 * purchase (ADR 0045) counts with its own part, in the rollups and in the partial edge hours.
 */
describe('per-item leaderboard and payee-exact author reports (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  const putTerms = (app: TestApp, itemId: string, body: unknown) =>
    app.api.request('PUT', `/royalty-terms/${encodeURIComponent(itemId)}`, { userId: ADMIN_USER_ID, body });

  const balanceOf = async (app: TestApp, wallet: TestWallet): Promise<number> => {
    const response = await app.api.get(`/wallets/${wallet.id}`, { userId: wallet.userId });
    return response.body.balance - (response.body.debt ?? 0);
  };

  /**
   * Two items (one split 25/75 between two payees, one sold by a single author), sales without
   * an item, a partial refund of a split sale and a full one of a one-author item sale. Returns
   * each payee's part of each, booked from the answers and the payees' balances.
   */
  async function tradeItems(app: TestApp) {
    const buyer = await createWallet(app.api, 1_000_000);
    const [first, second, solo] = [await createWallet(app.api), await createWallet(app.api), await createWallet(app.api)];
    const split = `song-${randomUUID()}`;
    const single = `book-${randomUUID()}`;
    const terms = await putTerms(app, split, { payees: [{ walletId: first.id, share: 2500 }, { walletId: second.id, share: 7500 }] });
    expect(terms.status).toBe(201);
    const parts: Part[] = [];
    const purchases: { id: string; createdAt: string; itemId: string | null }[] = [];
    const buy = async (body: Record<string, unknown>) => {
      const response = await app.api.post('/purchases', {
        userId: buyer.userId,
        idempotencyKey: randomUUID(),
        body: { buyerWalletId: buyer.id, ...body },
      });
      expect(response.status).toBe(201);
      for (const payee of response.body.payees as { walletId: string; amount: number }[]) {
        parts.push({
          itemId: response.body.itemId,
          walletId: payee.walletId,
          at: new Date(response.body.createdAt),
          salesCount: 1,
          grossVolume: response.body.itemPrice,
          royalty: payee.amount,
          refundedVolume: 0,
          takenBack: 0,
        });
      }
      purchases.push(response.body);
      return response.body as { id: string; createdAt: string; itemId: string | null; payees: { walletId: string }[] };
    };
    /** A refund, each payee's part taken from its balance (none of them goes into debt here). */
    const takeBack = async (sale: { id: string; itemId: string | null; payees: { walletId: string }[] }, amount?: number) => {
      const payees = [first, second, solo].filter((w) => sale.payees.some((p) => p.walletId === w.id));
      const before = await Promise.all(payees.map((w) => balanceOf(app, w)));
      const response = await refund(app.api, ADMIN_USER_ID, sale.id, amount === undefined ? {} : { amount });
      expect(response.status).toBe(201);
      const after = await Promise.all(payees.map((w) => balanceOf(app, w)));
      payees.forEach((payee, i) =>
        parts.push({
          itemId: sale.itemId,
          walletId: payee.id,
          at: new Date(response.body.createdAt),
          salesCount: 0,
          grossVolume: 0,
          royalty: 0,
          refundedVolume: response.body.amount,
          takenBack: before[i]! - after[i]!,
        }),
      );
    };

    const start = await dbNow(app.db.sql);
    const splitSale = await buy({ itemId: split, itemPrice: 999 });
    expect(splitSale.payees.map((p) => p.walletId)).toEqual([first.id, second.id]);
    await buy({ itemId: split, itemPrice: 1_001 });
    await buy({ itemId: single, authorWalletId: first.id, itemPrice: 1_999 });
    const singleSale = await buy({ itemId: single, authorWalletId: first.id, itemPrice: 333 });
    await buy({ authorWalletId: solo.id, itemPrice: 5_000 });
    await buy({ authorWalletId: second.id, itemPrice: 700 });
    await buy({ itemId: split, itemPrice: 250 });
    await takeBack(splitSale, 400);
    await takeBack(singleSale);
    const end = new Date((await dbNow(app.db.sql)).getTime() + 1);
    return { wallets: { first, second, solo }, items: { split, single }, parts, purchases, start, end };
  }

  /** A full reconciliation run, queued over the API and stored, so incremental runs start from it. */
  async function runStored(app: TestApp) {
    const queued = await app.api.post('/admin/reconciliations', { userId: ADMIN_USER_ID });
    expect(queued.status).toBe(202);
    for (let poll = 0; poll < POLLS_MAX; poll++) {
      const response = await app.api.get(`/admin/reconciliations/${queued.body.runId}`, { userId: ADMIN_USER_ID });
      if (response.body.status === 'completed' || response.body.status === 'failed') return response.body;
      await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
    }
    throw new Error('the reconciliation run did not finish');
  }

  const top = (app: TestApp, period: { from: Date; to: Date }, itemId?: string) =>
    app.api.get(
      `/reports/authors/top?from=${period.from.toISOString()}&to=${period.to.toISOString()}&limit=100` +
        (itemId === undefined ? '' : `&itemId=${encodeURIComponent(itemId)}`),
      { userId: ADMIN_USER_ID },
    );

  it("ranks one item's payees with their own parts, net of refunds, exact at the edges and from the rollups", async () => {
    const { wallets, items, parts, purchases, start, end } = await tradeItems(t);
    const ours = new Set(Object.values(wallets).map((w) => w.id));
    const exact = { from: start, to: end };
    const hours = {
      from: new Date(Math.floor(start.getTime() / HOUR_MS) * HOUR_MS - HOUR_MS),
      to: new Date(Math.floor(end.getTime() / HOUR_MS) * HOUR_MS + 2 * HOUR_MS),
    };
    // Exact to the millisecond: up to the first sale (exclusive), and to just after it.
    const firstAt = new Date(purchases[0]!.createdAt);
    const uptoFirst = { from: start, to: new Date(Math.max(firstAt.getTime(), start.getTime() + 1)) };
    const withFirst = { from: start, to: new Date(firstAt.getTime() + 1) };
    const later = { from: end, to: new Date(end.getTime() + HOUR_MS) };

    for (const period of [exact, hours, uptoFirst, withFirst, later]) {
      for (const itemId of [items.split, items.single]) {
        const response = await top(t, period, itemId);
        expect(response.status).toBe(200);
        expect(response.body).toEqual({
          from: period.from.toISOString(),
          to: period.to.toISOString(),
          items: expectedRanking(parts, period, itemId),
        });
      }
      // Without itemId: every sale, each payee with its own part (other tests' authors left out).
      const all = await top(t, period);
      expect(all.status).toBe(200);
      expect(all.body.items.filter((row: Ranked) => ours.has(row.authorWalletId))).toEqual(expectedRanking(parts, period));
    }
    // The split item's leaderboard names both payees, each with a sale count of every sale.
    const split = (await top(t, exact, items.split)).body.items as Ranked[];
    expect(split.map((row) => row.authorWalletId).sort()).toEqual([wallets.first.id, wallets.second.id].sort());
    expect(split.every((row) => row.salesCount === 3 && row.grossVolume === 2_250 && row.refundedVolume === 400)).toBe(true);
    expect((await top(t, exact, `unknown-${randomUUID()}`)).body.items).toEqual([]);
    await expectBooksBalanced(t.db.sql);
  });

  it("gives each payee its own part in /wallets/:id/royalties, in a partial hour as from the rollups", async () => {
    const { wallets, parts, start, end } = await tradeItems(t);
    const hours = {
      from: new Date(Math.floor(start.getTime() / HOUR_MS) * HOUR_MS - HOUR_MS),
      to: new Date(Math.floor(end.getTime() / HOUR_MS) * HOUR_MS + 2 * HOUR_MS),
    };
    for (const wallet of Object.values(wallets)) {
      const [ranked] = expectedRanking(
        parts.filter((part) => part.walletId === wallet.id),
        { from: start, to: end },
      );
      const figures = {
        salesCount: ranked!.salesCount,
        grossVolume: ranked!.grossVolume,
        royaltiesCredited: ranked!.royaltiesCredited,
        refundedVolume: ranked!.refundedVolume,
        royaltiesTakenBack: ranked!.royaltiesTakenBack,
      };
      for (const period of [{ from: start, to: end }, hours]) {
        const query = `from=${period.from.toISOString()}&to=${period.to.toISOString()}`;
        const response = await t.api.get(`/wallets/${wallet.id}/royalties?${query}`, { userId: wallet.userId });
        expect(response.status).toBe(200);
        expect(response.body).toEqual({
          walletId: wallet.id,
          from: period.from.toISOString(),
          to: period.to.toISOString(),
          ...figures,
          fractionalBalance: expect.any(Number),
        });
      }
      // What the payee kept is what its balance shows: it neither withdrew nor bought.
      expect(figures.royaltiesCredited).toBe(await balanceOf(t, wallet));
    }
  });

  it.each([
    ['empty', ''],
    ['a space', 'two words'],
    ['201 characters', 'x'.repeat(201)],
    ['a character outside the set', 'café'],
  ])('answers 400 naming itemId for an itemId with %s', async (_case, itemId) => {
    const response = await t.api.get(
      `/reports/authors/top?from=2026-01-01&to=2026-01-02&itemId=${encodeURIComponent(itemId)}`,
      { userId: ADMIN_USER_ID },
    );
    expect(response.status).toBe(400);
    expect(response.body.errors.map((error: { field: string }) => error.field)).toEqual(['itemId']);
  });

  it('reconciliation finds and repairs tampered item rollups, in full and incremental runs', async () => {
    const own = await startTestApp();
    try {
      const { wallets, items, parts, start } = await tradeItems(own);
      const runFull = () => runStored(own);
      const clean = await runFull();
      expect(clean).toMatchObject({ status: 'completed', driftCount: 0, drifts: [] });
      // The split item's two payees and the single item's author, in one or two hours.
      expect(clean.checked.itemAuthorHourlyBuckets).toBeGreaterThanOrEqual(3);

      // A part changed, a row lost, and a row no sale made, in an hour nothing else happened in.
      await own.db.sql`
        UPDATE item_author_hourly_rollups SET royalty = royalty - 5 WHERE item_id = ${items.split} AND author_wallet_id = ${wallets.second.id}`;
      await own.db.sql`DELETE FROM item_author_hourly_rollups WHERE item_id = ${items.single}`;
      await own.db.sql`
        INSERT INTO item_author_hourly_rollups (item_id, author_wallet_id, bucket_start, sales_count, gross_volume, royalty)
        VALUES ('ghost', ${wallets.solo.id}, '2020-01-15T10:00:00Z', 1, 100, 70)`;
      const repaired = await runFull();
      expect(repaired.status).toBe('completed');
      const drifts = repaired.drifts.filter((drift: { check: string }) => drift.check === 'item_author_hourly_rollups');
      expect(repaired.driftCount).toBe(drifts.length);
      expect(drifts.every((drift: { corrected: boolean }) => drift.corrected)).toBe(true);
      const keys = drifts.map((drift: { key: Record<string, string> }) => `${drift.key.itemId}:${drift.key.authorWalletId}`).sort();
      // The single item's rows: one per hour its sales and refund fell in (one or two).
      expect(new Set(keys)).toEqual(new Set([`${items.split}:${wallets.second.id}`, `${items.single}:${wallets.first.id}`, `ghost:${wallets.solo.id}`]));
      const changed = drifts.find((drift: { key: Record<string, string> }) => drift.key.itemId === items.split);
      expect(changed.expected.royalty - changed.before.royalty).toBe(5);
      await expectBooksBalanced(own.db.sql);

      // The run above corrected all it found, so an incremental run checks the hours changed
      // since it: a sale of the split item made now, whose row is then tampered with.
      const buyer = await createWallet(own.api, 1_000);
      const sale = await own.api.post('/purchases', {
        userId: buyer.userId,
        idempotencyKey: randomUUID(),
        body: { buyerWalletId: buyer.id, itemId: items.split, itemPrice: 100 },
      });
      expect(sale.status).toBe(201);
      for (const payee of sale.body.payees as { walletId: string; amount: number }[]) {
        parts.push({ itemId: items.split, walletId: payee.walletId, at: new Date(sale.body.createdAt), salesCount: 1, grossVolume: 100, royalty: payee.amount, refundedVolume: 0, takenBack: 0 });
      }
      await own.db.sql`
        UPDATE item_author_hourly_rollups SET sales_count = sales_count + 2
         WHERE item_id = ${items.split} AND author_wallet_id = ${wallets.first.id}
           AND bucket_start = date_trunc('hour', ${sale.body.createdAt}::timestamptz, 'UTC')`;
      const incremental = await own.app.get(ReconciliationService).reconcile({ fixBalances: false, scope: 'incremental' });
      expect(incremental.drifts.map((drift) => [drift.check, drift.key.itemId, drift.key.authorWalletId, drift.corrected])).toEqual([
        ['item_author_hourly_rollups', items.split, wallets.first.id, true],
      ]);
      await expectBooksBalanced(own.db.sql);
      const period = { from: start, to: new Date(new Date(sale.body.createdAt).getTime() + 1) };
      expect((await top(own, period, items.split)).body.items).toEqual(expectedRanking(parts, period, items.split));
    } finally {
      await own.close();
    }
  });

  it('shows every payee of a split purchase its purchase.completed and refund.created in GET /events, once each', async () => {
    const readAll = async (userId: string) => {
      const items: { type: string; data: { id: string; purchaseId?: string } }[] = [];
      let after = '';
      for (;;) {
        const response = await t.api.get(`/events?limit=3${after ? `&after=${after}` : ''}`, { userId });
        expect(response.status).toBe(200);
        items.push(...response.body.items);
        if (response.body.items.length === 0) return items;
        after = response.body.nextCursor;
      }
    };
    const buyer = await createWallet(t.api, 10_000);
    const payees = [await createWallet(t.api), await createWallet(t.api), await createWallet(t.api)];
    const itemId = `album-${randomUUID()}`;
    await putTerms(t, itemId, { payees: payees.map((p, i) => ({ walletId: p.id, share: i === 2 ? 3334 : 3333 })) });
    const sale = await t.api.post('/purchases', {
      userId: buyer.userId,
      idempotencyKey: randomUUID(),
      body: { buyerWalletId: buyer.id, itemId, itemPrice: 900 },
    });
    expect(sale.status).toBe(201);
    const refunded = await refund(t.api, ADMIN_USER_ID, sale.body.id, { amount: 300 });
    expect(refunded.status).toBe(201);
    // A one-author purchase by the last payee: its event reaches it as the counterparty, as before.
    const own = await t.api.post('/purchases', {
      userId: buyer.userId,
      idempotencyKey: randomUUID(),
      body: { buyerWalletId: buyer.id, authorWalletId: payees[2]!.id, itemPrice: 100 },
    });
    expect(own.status).toBe(201);

    const expected = [
      ['purchase.completed', sale.body.id],
      ['refund.created', refunded.body.id],
    ];
    for (const [index, payee] of payees.entries()) {
      const seen = (await readAll(payee.userId)).map((event) => [event.type, event.data.id]);
      expect(seen).toEqual(index === 2 ? [...expected, ['purchase.completed', own.body.id]] : expected);
    }
    const buyerSeen = (await readAll(buyer.userId)).map((event) => [event.type, event.data.id]);
    expect(buyerSeen).toEqual([['deposit.created', buyer.id], ...expected, ['purchase.completed', own.body.id]]);
  });

  // The incremental wallet checks (compareRecentWallets, rebuildCheckpoints) count each payee's
  // own part from purchase_payees and refund_payees, as the full run does (ADR 0028).
  it('an incremental run after split sales finds no drift in the payees\' wallets', async () => {
    const own = await startTestApp();
    try {
      await tradeItems(own);
      expect(await runStored(own)).toMatchObject({ status: 'completed', driftCount: 0 });
      await tradeItems(own);
      const incremental = await own.app.get(ReconciliationService).reconcile({ fixBalances: false, scope: 'incremental' });
      expect(incremental.drifts).toEqual([]);
    } finally {
      await own.close();
    }
  });
});
