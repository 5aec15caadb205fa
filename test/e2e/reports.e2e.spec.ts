import { randomUUID } from 'node:crypto';
import type { Sql } from 'postgres';
import { createWallet, deposit, purchase, TestWallet } from '../factories/wallets.factory';
import { expectBooksBalanced } from '../setup/books';
import { randomInt, replayable, seededRandom } from '../setup/seeded';
import { ADMIN_USER_ID, PLATFORM_USER_ID, startTestApp, TestApp } from '../setup/test-app';

const HOUR_MS = 3_600_000;
const POLL_INTERVAL_MS = 50;
const POLL_ATTEMPTS_MAX = 400;

interface Books {
  deposited: number;
  withdrawn: number;
  volume: number;
  royalties: number;
  platform: number;
  count: number;
}

/** Polls a report until it finishes; bounded so a stuck report fails the test, not hangs it. */
async function waitForReport(t: TestApp, jobId: string, userId = ADMIN_USER_ID) {
  for (let attempt = 0; attempt < POLL_ATTEMPTS_MAX; attempt++) {
    const response = await t.api.get(`/reports/financial/${jobId}`, { userId });
    expect(response.status).toBe(200);
    if (response.body.status === 'completed' || response.body.status === 'failed') return response.body;
    await new Promise((resolve) => setTimeout(resolve, POLL_INTERVAL_MS));
  }
  throw new Error(`report ${jobId} did not finish`);
}

async function report(t: TestApp, body?: { from: string; to: string }) {
  const queued = await t.api.post('/reports/financial', { userId: ADMIN_USER_ID, body: body ?? {} });
  expect(queued.status).toBe(202);
  expect(queued.body).toEqual({ jobId: expect.any(String), status: 'queued' });
  expect(queued.headers.get('location')).toBe(`/reports/financial/${queued.body.jobId}`);
  const done = await waitForReport(t, queued.body.jobId);
  expect(done.status).toBe('completed');
  return done.result;
}

function expectReportEquals(result: any, books: Books, period: { from: string; to: string } | null) {
  expect(result).toEqual({
    totalDeposited: books.deposited,
    totalPurchaseVolume: books.volume,
    totalRoyaltiesPaid: books.royalties,
    platformRevenue: books.platform,
    totalWithdrawn: books.withdrawn,
    purchaseCount: books.count,
    // No refunds in this file: refunds.e2e.spec.ts reports on them.
    totalRefunded: 0,
    refundCount: 0,
    outstandingDebt: 0,
    // Nobody settles or fails a payout in this file: every withdrawal is still pending (ADR 0018).
    payoutsPending: books.withdrawn,
    payoutsPaid: 0,
    payoutsFailed: 0,
    totalHeld: 0,
    from: period?.from ?? null,
    to: period?.to ?? null,
    generatedAt: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/),
  });
}

async function dbNow(sql: Sql): Promise<Date> {
  const [row] = await sql<{ now: Date }[]>`SELECT clock_timestamp()::timestamptz(3) AS now`;
  return new Date(row!.now);
}

/**
 * The money functions stamp created_at with now(), which a test cannot move. To place an
 * operation at an exact millisecond, the test writes what purchase_execute() would write:
 * the transaction, purchase, balanced entries, wallet balances, running totals and both
 * rollups, all in one transaction, so the books stay consistent (checked at the end).
 */
async function insertPurchaseAt(
  sql: Sql,
  { at, buyer, author, platformWalletId, priceCents }: { at: Date; buyer: TestWallet; author: TestWallet; platformWalletId: string; priceCents: number },
) {
  // A price that is a multiple of 10 leaves no carry at 70%, so the carry identity holds.
  expect(priceCents % 10).toBe(0);
  const authorCents = (priceCents * 70) / 100;
  const platformCents = priceCents - authorCents;
  const id = randomUUID();
  const bucket = new Date(Math.floor(at.getTime() / HOUR_MS) * HOUR_MS);
  await sql.begin(async (tx) => {
    await tx`INSERT INTO ledger_transactions (id, type, created_at) VALUES (${id}, 'purchase', ${at})`;
    await tx`
      INSERT INTO purchases (id, user_id, idempotency_key, request_hash, buyer_wallet_id, author_wallet_id, item_price,
                             royalty_percent, author_amount, platform_amount, fractional_before, fractional_after, created_at)
      VALUES (${id}, ${buyer.userId}, ${id}, 'direct-sql', ${buyer.id}, ${author.id}, ${priceCents}, 70,
              ${authorCents}, ${platformCents}, 0, 0, ${at})`;
    await tx`
      INSERT INTO ledger_entries (transaction_id, wallet_id, amount, created_at)
      VALUES (${id}, ${buyer.id}, ${-priceCents}, ${at}), (${id}, ${author.id}, ${authorCents}, ${at}),
             (${id}, ${platformWalletId}, ${platformCents}, ${at})`;
    await tx`UPDATE wallets SET balance = balance - ${priceCents} WHERE id = ${buyer.id}`;
    await tx`UPDATE wallets SET balance = balance + ${authorCents} WHERE id = ${author.id}`;
    await tx`UPDATE wallets SET balance = balance + ${platformCents} WHERE id = ${platformWalletId}`;
    await tx`
      INSERT INTO running_totals AS t (slot, purchase_volume, royalties, platform_revenue, purchase_count)
      VALUES (0, ${priceCents}, ${authorCents}, ${platformCents}, 1)
      ON CONFLICT (slot) DO UPDATE SET purchase_volume = t.purchase_volume + excluded.purchase_volume,
        royalties = t.royalties + excluded.royalties, platform_revenue = t.platform_revenue + excluded.platform_revenue,
        purchase_count = t.purchase_count + 1`;
    await tx`
      INSERT INTO hourly_rollups AS r (bucket_start, slot, purchase_volume, royalties, platform_revenue, purchase_count)
      VALUES (${bucket}, 0, ${priceCents}, ${authorCents}, ${platformCents}, 1)
      ON CONFLICT (bucket_start, slot) DO UPDATE SET purchase_volume = r.purchase_volume + excluded.purchase_volume,
        royalties = r.royalties + excluded.royalties, platform_revenue = r.platform_revenue + excluded.platform_revenue,
        purchase_count = r.purchase_count + 1`;
    await tx`
      INSERT INTO author_hourly_rollups AS a (author_wallet_id, bucket_start, sales_count, gross_volume, royalty)
      VALUES (${author.id}, ${bucket}, 1, ${priceCents}, ${authorCents})
      ON CONFLICT (author_wallet_id, bucket_start) DO UPDATE SET sales_count = a.sales_count + 1,
        gross_volume = a.gross_volume + excluded.gross_volume, royalty = a.royalty + excluded.royalty`;
  });
}

/** The deposit counterpart of insertPurchaseAt. */
async function insertDepositAt(sql: Sql, { at, wallet, amountCents }: { at: Date; wallet: TestWallet; amountCents: number }) {
  const id = randomUUID();
  const bucket = new Date(Math.floor(at.getTime() / HOUR_MS) * HOUR_MS);
  await sql.begin(async (tx) => {
    await tx`INSERT INTO ledger_transactions (id, type, created_at) VALUES (${id}, 'deposit', ${at})`;
    const [w] = await tx<{ balance: string }[]>`
      UPDATE wallets SET balance = balance + ${amountCents} WHERE id = ${wallet.id} RETURNING balance::text`;
    await tx`
      INSERT INTO deposits (id, user_id, request_hash, wallet_id, amount, balance_after, fractional_balance_after, created_at)
      VALUES (${id}, ${wallet.userId}, 'direct-sql', ${wallet.id}, ${amountCents}, ${w!.balance}, 0, ${at})`;
    await tx`
      INSERT INTO ledger_entries (transaction_id, wallet_id, system_account, amount, created_at)
      VALUES (${id}, NULL, 'funding', ${-amountCents}, ${at}), (${id}, ${wallet.id}, NULL, ${amountCents}, ${at})`;
    await tx`
      INSERT INTO running_totals AS t (slot, deposited) VALUES (0, ${amountCents})
      ON CONFLICT (slot) DO UPDATE SET deposited = t.deposited + excluded.deposited`;
    await tx`
      INSERT INTO hourly_rollups AS r (bucket_start, slot, deposited) VALUES (${bucket}, 0, ${amountCents})
      ON CONFLICT (bucket_start, slot) DO UPDATE SET deposited = r.deposited + excluded.deposited`;
  });
}

/** Deposits, purchases and withdrawals drawn from `random` over the API, then every report against the test's own books. */
async function randomizedWorkload(t: TestApp, random: () => number): Promise<void> {
  const start = await dbNow(t.db.sql);
  const books: Books = { deposited: 0, withdrawn: 0, volume: 0, royalties: 0, platform: 0, count: 0 };
  const perAuthor = new Map<string, { sales: number; volume: number; royalties: number }>();
  const buyers = await Promise.all(Array.from({ length: 4 }, () => createWallet(t.api)));
  const authors = await Promise.all(Array.from({ length: 3 }, () => createWallet(t.api)));
  for (const author of authors) perAuthor.set(author.id, { sales: 0, volume: 0, royalties: 0 });
  const balances = new Map<string, number>([...buyers, ...authors].map((w) => [w.id, 0]));
  const upTo = (max: number) => randomInt(random, 1, max);

  for (let step = 0; step < 60; step++) {
    const roll = random();
    if (roll < 0.3) {
      const wallet = buyers[upTo(buyers.length) - 1]!;
      const amount = upTo(50_000);
      await deposit(t.api, wallet, amount);
      books.deposited += amount;
      balances.set(wallet.id, balances.get(wallet.id)! + amount);
    } else if (roll < 0.85) {
      const buyer = buyers[upTo(buyers.length) - 1]!;
      const author = authors[upTo(authors.length) - 1]!;
      const price = upTo(5_000);
      const response = await purchase(t.api, buyer, author, price);
      if (response.status === 402) continue;
      expect(response.status).toBe(201);
      books.volume += price;
      books.royalties += response.body.authorAmount;
      books.platform += response.body.platformAmount;
      books.count += 1;
      const sales = perAuthor.get(author.id)!;
      sales.sales += 1;
      sales.volume += price;
      sales.royalties += response.body.authorAmount;
      balances.set(buyer.id, balances.get(buyer.id)! - price);
      balances.set(author.id, balances.get(author.id)! + response.body.authorAmount);
    } else {
      const wallet = [...buyers, ...authors][upTo(buyers.length + authors.length) - 1]!;
      const balance = balances.get(wallet.id)!;
      if (balance === 0) continue;
      const amount = upTo(balance);
      const response = await t.api.post(`/wallets/${wallet.id}/withdrawals`, {
        userId: wallet.userId,
        idempotencyKey: randomUUID(),
        body: { amount },
      });
      expect(response.status).toBe(201);
      books.withdrawn += amount;
      balances.set(wallet.id, balance - amount);
    }
  }
  const end = new Date((await dbNow(t.db.sql)).getTime() + 1);

  expectReportEquals(await report(t), books, null);
  // Exact edges: only partial hours, read from the ledger.
  const exact = { from: start.toISOString(), to: end.toISOString() };
  expectReportEquals(await report(t, exact), books, exact);
  // Whole hours around the workload, read from the rollups.
  const hours = {
    from: new Date(Math.floor(start.getTime() / HOUR_MS) * HOUR_MS - HOUR_MS).toISOString(),
    to: new Date(Math.floor(end.getTime() / HOUR_MS) * HOUR_MS + 2 * HOUR_MS).toISOString(),
  };
  expectReportEquals(await report(t, hours), books, hours);

  for (const author of authors) {
    const sales = perAuthor.get(author.id)!;
    const wallet = await t.api.get(`/wallets/${author.id}`, { userId: author.userId });
    const expected = {
      walletId: author.id,
      salesCount: sales.sales,
      grossVolume: sales.volume,
      royaltiesCredited: sales.royalties,
      refundedVolume: 0,
      royaltiesTakenBack: 0,
      fractionalBalance: wallet.body.fractionalBalance,
    };
    const allTime = await t.api.get(`/wallets/${author.id}/royalties`, { userId: author.userId });
    expect(allTime.status).toBe(200);
    expect(allTime.body).toEqual({ ...expected, from: null, to: null });
    const inPeriod = await t.api.get(`/wallets/${author.id}/royalties?from=${exact.from}&to=${exact.to}`, {
      userId: ADMIN_USER_ID,
    });
    expect(inPeriod.body).toEqual({ ...expected, ...exact });
    // Royalty identity per author: 100 × credited + carry = 70 × volume.
    expect(100 * sales.royalties + wallet.body.fractionalBalance).toBe(70 * sales.volume);
  }

  const top = await t.api.get(`/reports/authors/top?from=${exact.from}&to=${exact.to}&limit=100`, { userId: ADMIN_USER_ID });
  expect(top.status).toBe(200);
  const ranking = authors
    .map((a) => ({ authorWalletId: a.id, ...perAuthor.get(a.id)! }))
    .filter((a) => a.sales > 0)
    .sort((a, b) => b.royalties - a.royalties || (a.authorWalletId < b.authorWalletId ? -1 : 1))
    .map((a) => ({
      authorWalletId: a.authorWalletId,
      salesCount: a.sales,
      grossVolume: a.volume,
      royaltiesCredited: a.royalties,
      refundedVolume: 0,
      royaltiesTakenBack: 0,
    }));
  expect(top.body).toEqual({ ...exact, items: ranking });
  await expectBooksBalanced(t.db.sql);
}

describe('financial reports, royalties and the leaderboard (e2e)', () => {
  let t: TestApp;
  let platformWalletId: string;

  beforeAll(async () => {
    t = await startTestApp();
    const [platform] = await t.db.sql<{ id: string }[]>`SELECT id FROM wallets WHERE user_id = ${PLATFORM_USER_ID}`;
    platformWalletId = platform!.id;
  });
  afterAll(async () => {
    await t.close();
  });

  // The all-time report must see exactly this workload: it runs on a database of its own.
  it('after a randomized workload over the API, every report equals the books kept by the test, to the cent', async () => {
    const own = await startTestApp();
    try {
      await replayable(() => randomizedWorkload(own, seededRandom(1)));
    } finally {
      await own.close();
    }
  });

  it('puts an operation at the last millisecond of an hour and one at the first of the next into the right periods', async () => {
    const buyer = await createWallet(t.api, 100_000);
    const author = await createWallet(t.api);
    const lastMs = new Date('2025-01-01T10:59:59.999Z');
    const firstMs = new Date('2025-01-01T11:00:00.000Z');
    await insertPurchaseAt(t.db.sql, { at: lastMs, buyer, author, platformWalletId, priceCents: 1_000 });
    await insertPurchaseAt(t.db.sql, { at: firstMs, buyer, author, platformWalletId, priceCents: 20_000 });
    await insertDepositAt(t.db.sql, { at: lastMs, wallet: buyer, amountCents: 300 });
    await insertDepositAt(t.db.sql, { at: firstMs, wallet: buyer, amountCents: 4_000 });

    const none: Books = { deposited: 0, withdrawn: 0, volume: 0, royalties: 0, platform: 0, count: 0 };
    const early: Books = { ...none, deposited: 300, volume: 1_000, royalties: 700, platform: 300, count: 1 };
    const late: Books = { ...none, deposited: 4_000, volume: 20_000, royalties: 14_000, platform: 6_000, count: 1 };
    const both: Books = { ...none, deposited: 4_300, volume: 21_000, royalties: 14_700, platform: 6_300, count: 2 };
    const cases: [string, string, Books][] = [
      ['2025-01-01T10:00:00.000Z', '2025-01-01T11:00:00.000Z', early], // one whole bucket
      ['2025-01-01T11:00:00.000Z', '2025-01-01T12:00:00.000Z', late],
      ['2025-01-01T10:59:59.999Z', '2025-01-01T11:00:00.000Z', early], // one millisecond, from the ledger
      ['2025-01-01T11:00:00.000Z', '2025-01-01T11:00:00.001Z', late],
      ['2025-01-01T10:00:00.000Z', '2025-01-01T10:59:59.999Z', none], // `to` is exclusive
      ['2025-01-01T11:00:00.001Z', '2025-01-01T12:00:00.000Z', none], // `from` is inclusive
      ['2025-01-01T10:30:00.000Z', '2025-01-01T11:30:00.000Z', both], // two partial edges
      ['2025-01-01T09:15:00.000Z', '2025-01-01T13:45:00.000Z', both], // edges and whole buckets
    ];
    for (const [from, to, expected] of cases) {
      expectReportEquals(await report(t, { from, to }), expected, { from, to });
      const royalties = await t.api.get(`/wallets/${author.id}/royalties?from=${from}&to=${to}`, { userId: author.userId });
      expect({ from, to, sales: royalties.body.salesCount, royalty: royalties.body.royaltiesCredited }).toEqual({
        from,
        to,
        sales: expected.count,
        royalty: expected.royalties,
      });
      const top = await t.api.get(`/reports/authors/top?from=${from}&to=${to}`, { userId: ADMIN_USER_ID });
      expect(top.body.items).toEqual(
        expected.count === 0
          ? []
          : [
              {
                authorWalletId: author.id,
                salesCount: expected.count,
                grossVolume: expected.volume,
                royaltiesCredited: expected.royalties,
                refundedVolume: 0,
                royaltiesTakenBack: 0,
              },
            ],
      );
    }
    await expectBooksBalanced(t.db.sql);
  });

  it('reads long periods from daily author rollups, with hours and milliseconds at the edges, to the cent', async () => {
    const buyer = await createWallet(t.api, 10_000_000);
    const authors = [await createWallet(t.api), await createWallet(t.api)];
    // Sales around UTC midnights and hours, in 2024 so that no other test's sales share the days.
    const sales: { at: string; author: number; price: number }[] = [
      { at: '2024-03-01T23:59:59.999Z', author: 0, price: 1_000 },
      { at: '2024-03-02T00:00:00.000Z', author: 0, price: 2_000 },
      { at: '2024-03-02T00:00:00.000Z', author: 1, price: 30_000 },
      { at: '2024-03-02T13:30:00.000Z', author: 1, price: 400 },
      { at: '2024-03-03T23:00:00.000Z', author: 0, price: 50_000 },
      { at: '2024-03-04T00:59:59.999Z', author: 1, price: 60 },
      { at: '2024-03-04T01:00:00.000Z', author: 0, price: 7_000 },
      { at: '2024-03-05T10:15:00.500Z', author: 1, price: 80_000 },
    ];
    for (const sale of sales) {
      await insertPurchaseAt(t.db.sql, { at: new Date(sale.at), buyer, author: authors[sale.author]!, platformWalletId, priceCents: sale.price });
    }
    const [days] = await t.db.sql<{ n: number }[]>`
      SELECT count(*)::int AS n FROM author_daily_rollups WHERE author_wallet_id IN ${t.db.sql(authors.map((a) => a.id))}`;
    expect(days!.n).toBe(7); // the trigger keeps one row per author and day with sales

    const periods: [string, string][] = [
      ['2024-03-02T00:00:00.000Z', '2024-03-04T00:00:00.000Z'], // whole days only
      ['2024-03-01T23:00:00.000Z', '2024-03-04T01:00:00.000Z'], // days and an hour on each side
      ['2024-03-01T23:59:59.999Z', '2024-03-05T10:15:00.501Z'], // days, hours and millisecond edges
      ['2024-03-02T00:00:00.001Z', '2024-03-04T00:59:59.999Z'], // the edge sales just outside
      ['2024-03-01T22:00:00.000Z', '2024-03-03T23:00:00.000Z'], // 49 hours that hold one whole day
      ['2024-03-01T12:00:00.000Z', '2024-03-02T12:00:00.000Z'], // 24 hours across midnight, no whole day
      ['2024-02-01T00:00:00.000Z', '2024-04-01T00:00:00.000Z'], // the whole month and more
    ];
    for (const [from, to] of periods) {
      const inPeriod = sales.filter((sale) => sale.at >= from && sale.at < to);
      const expected = authors
        .map((author, index) => {
          const own = inPeriod.filter((sale) => sale.author === index);
          const grossVolume = own.reduce((sum, sale) => sum + sale.price, 0);
          return {
            authorWalletId: author.id,
            salesCount: own.length,
            grossVolume,
            royaltiesCredited: (grossVolume * 70) / 100,
            refundedVolume: 0,
            royaltiesTakenBack: 0,
          };
        })
        .filter((row) => row.salesCount > 0)
        .sort((a, b) => b.royaltiesCredited - a.royaltiesCredited || (a.authorWalletId < b.authorWalletId ? -1 : 1));
      const top = await t.api.get(`/reports/authors/top?from=${from}&to=${to}`, { userId: ADMIN_USER_ID });
      expect({ from, to, items: top.body.items }).toEqual({ from, to, items: expected });
      for (const [index, author] of authors.entries()) {
        const own = expected.find((row) => row.authorWalletId === author.id);
        const royalties = await t.api.get(`/wallets/${author.id}/royalties?from=${from}&to=${to}`, { userId: author.userId });
        expect({ from, to, index, sales: royalties.body.salesCount, gross: royalties.body.grossVolume }).toEqual({
          from,
          to,
          index,
          sales: own?.salesCount ?? 0,
          gross: own?.grossVolume ?? 0,
        });
      }
    }
    // All time: each author's days summed.
    const allTime = await t.api.get(`/wallets/${authors[1]!.id}/royalties`, { userId: authors[1]!.userId });
    expect(allTime.body).toMatchObject({ salesCount: 4, grossVolume: 110_460, royaltiesCredited: 77_322 });

    // The whole days come from the daily rows: a change there shows in the leaderboard.
    await t.db.sql`UPDATE author_daily_rollups SET royalty = royalty + 1 WHERE author_wallet_id = ${authors[0]!.id} AND day_start = '2024-03-02T00:00:00Z'`;
    const tampered = await t.api.get('/reports/authors/top?from=2024-03-02T00:00:00.000Z&to=2024-03-03T00:00:00.000Z', { userId: ADMIN_USER_ID });
    expect(tampered.body.items.find((row: any) => row.authorWalletId === authors[0]!.id).royaltiesCredited).toBe(1_401);
    await t.db.sql`UPDATE author_daily_rollups SET royalty = royalty - 1 WHERE author_wallet_id = ${authors[0]!.id} AND day_start = '2024-03-02T00:00:00Z'`;
    await expectBooksBalanced(t.db.sql);
  });

  it('orders the leaderboard by royalties, ties by wallet id ascending, and honours limit', async () => {
    const buyer = await createWallet(t.api, 100_000);
    const authors = await Promise.all(Array.from({ length: 4 }, () => createWallet(t.api)));
    const from = (await dbNow(t.db.sql)).toISOString();
    for (const author of authors) expect((await purchase(t.api, buyer, author, 1_000)).status).toBe(201);
    expect((await purchase(t.api, buyer, authors[2]!, 1_000)).status).toBe(201);
    const to = new Date((await dbNow(t.db.sql)).getTime() + 1).toISOString();

    const tied = authors.filter((a) => a !== authors[2]).map((a) => a.id).sort();
    const expected = [authors[2]!.id, ...tied];
    const top = await t.api.get(`/reports/authors/top?from=${from}&to=${to}`, { userId: ADMIN_USER_ID });
    expect(top.status).toBe(200);
    expect(top.body.items.map((i: any) => i.authorWalletId)).toEqual(expected);
    expect(top.body.items.map((i: any) => i.royaltiesCredited)).toEqual([1_400, 700, 700, 700]);
    const limited = await t.api.get(`/reports/authors/top?from=${from}&to=${to}&limit=2`, { userId: ADMIN_USER_ID });
    expect(limited.body.items.map((i: any) => i.authorWalletId)).toEqual(expected.slice(0, 2));
  });

  it('admits only admins: POST and the leaderboard are 403 for others, a report is 404 to anyone but its requester and admins', async () => {
    const user = await createWallet(t.api);
    const before = await t.db.sql`SELECT count(*)::int AS n FROM financial_reports`;
    const post = await t.api.post('/reports/financial', { userId: user.userId, body: {} });
    expect(post.status).toBe(403);
    expect(post.body.code).toBe('FORBIDDEN');
    const after = await t.db.sql`SELECT count(*)::int AS n FROM financial_reports`;
    expect(after[0]!.n).toBe(before[0]!.n);
    expect((await t.api.get('/reports/authors/top?from=2025-01-01&to=2025-01-02', { userId: user.userId })).status).toBe(403);

    const queued = await t.api.post('/reports/financial', { userId: ADMIN_USER_ID });
    expect(queued.status).toBe(202);
    const foreign = await t.api.get(`/reports/financial/${queued.body.jobId}`, { userId: user.userId });
    expect(foreign.status).toBe(404);
    expect(foreign.body.code).toBe('REPORT_NOT_FOUND');
    expect((await t.api.get(`/reports/financial/${randomUUID()}`, { userId: ADMIN_USER_ID })).status).toBe(404);
    expect((await t.api.get(`/reports/financial/${queued.body.jobId}`, { userId: PLATFORM_USER_ID })).status).toBe(200);
    expect((await waitForReport(t, queued.body.jobId)).status).toBe('completed');
  });

  it("shows an author's royalties to the owner and admins only", async () => {
    const author = await createWallet(t.api);
    expect((await t.api.get(`/wallets/${author.id}/royalties`, { userId: author.userId })).status).toBe(200);
    expect((await t.api.get(`/wallets/${author.id}/royalties`, { userId: ADMIN_USER_ID })).status).toBe(200);
    const stranger = await t.api.get(`/wallets/${author.id}/royalties`, { userId: randomUUID() });
    expect(stranger.status).toBe(404);
    expect(stranger.body.code).toBe('WALLET_NOT_FOUND');
    expect((await t.api.get(`/wallets/${randomUUID()}/royalties`, { userId: ADMIN_USER_ID })).status).toBe(404);
  });

  describe('validation: 400 naming the field, nothing stored', () => {
    const cases: [string, Record<string, unknown>, string][] = [
      ['from equal to to', { from: '2026-01-01T00:00:00Z', to: '2026-01-01T00:00:00Z' }, 'to'],
      ['from after to', { from: '2026-01-02', to: '2026-01-01' }, 'to'],
      ['an unparsable from', { from: 'last tuesday', to: '2026-01-01' }, 'from'],
      ['an impossible date', { from: '2026-01-01', to: '2026-02-30' }, 'to'],
      ['a date-time without an offset', { from: '2026-01-01T00:00:00', to: '2026-01-02' }, 'from'],
      ['a range too large', { from: '2024-01-01', to: '2026-01-01' }, 'to'],
      ['from without to', { from: '2026-01-01' }, 'to'],
      ['a number', { from: 1767225600000, to: '2026-01-02' }, 'from'],
      ['an unknown field', { from: '2026-01-01', to: '2026-01-02', currency: 'EUR' }, 'currency'],
    ];
    it.each(cases)('POST /reports/financial with %s', async (_name, body, field) => {
      const before = await t.db.sql`SELECT count(*)::int AS n FROM financial_reports`;
      const response = await t.api.post('/reports/financial', { userId: ADMIN_USER_ID, body });
      expect(response.status).toBe(400);
      expect(response.body.errors.map((e: any) => e.field)).toContain(field);
      const after = await t.db.sql`SELECT count(*)::int AS n FROM financial_reports`;
      expect(after[0]!.n).toBe(before[0]!.n);
    });

    it.each(cases.filter(([, body]) => typeof body.from !== 'number'))(
      'GET leaderboard and royalties with %s',
      async (_name, body, field) => {
        const query = new URLSearchParams(body as Record<string, string>).toString();
        const top = await t.api.get(`/reports/authors/top?${query}`, { userId: ADMIN_USER_ID });
        expect(top.status).toBe(400);
        expect(top.body.errors.map((e: any) => e.field)).toContain(field);
        const author = await createWallet(t.api);
        const royalties = await t.api.get(`/wallets/${author.id}/royalties?${query}`, { userId: author.userId });
        expect(royalties.status).toBe(400);
        expect(royalties.body.errors.map((e: any) => e.field)).toContain(field);
      },
    );

    it('requires a period and a sane limit for the leaderboard', async () => {
      const missing = await t.api.get('/reports/authors/top', { userId: ADMIN_USER_ID });
      expect(missing.status).toBe(400);
      expect(missing.body.errors.map((e: any) => e.field)).toEqual(['from', 'to']);
      for (const limit of ['0', '101', 'ten', '1.5']) {
        const response = await t.api.get(`/reports/authors/top?from=2026-01-01&to=2026-01-02&limit=${limit}`, { userId: ADMIN_USER_ID });
        expect(response.status).toBe(400);
        expect(response.body.errors[0].field).toBe('limit');
      }
    });
  });

  it('a report whose stored period is corrupt ends failed with the error recorded, and the failure is counted', async () => {
    // An API-only instance queues the report without processing it; a worker started later runs it.
    const api = await startTestApp({ env: { APP_ROLE: 'api' } });
    try {
      const queued = await api.api.post('/reports/financial', {
        userId: ADMIN_USER_ID,
        body: { from: '2026-01-01T00:00:00Z', to: '2026-01-02T00:00:00Z' },
      });
      expect(queued.status).toBe(202);
      expect((await api.api.get(`/reports/financial/${queued.body.jobId}`, { userId: ADMIN_USER_ID })).body.status).toBe('queued');
      await api.db.sql`
        UPDATE financial_reports SET period_from = '2026-01-03T00:00:00Z' WHERE id = ${queued.body.jobId}`;

      const worker = await startTestApp({ database: api.db, keyPrefix: api.keyPrefix, env: { APP_ROLE: 'worker' } });
      try {
        const failed = await waitForReport(worker, queued.body.jobId);
        expect(failed).toEqual({
          jobId: queued.body.jobId,
          status: 'failed',
          result: null,
          error: 'The stored report period is invalid: to must be later than from',
          createdAt: expect.any(String),
          completedAt: expect.any(String),
        });
        const metrics = await worker.api.get('/metrics');
        expect(metrics.body).toMatch(/queue_jobs_total\{queue="reports",job="financial-report",outcome="failed"\} 1/);
      } finally {
        await worker.close();
      }
    } finally {
      await api.close();
    }
  });

  it('with Redis unreachable, POST answers 503 and leaves no report queued', async () => {
    const offline = await startTestApp({ env: { APP_ROLE: 'api', REDIS_URL: 'redis://127.0.0.1:1' } });
    try {
      const response = await offline.api.post('/reports/financial', { userId: ADMIN_USER_ID });
      expect(response.status).toBe(503);
      expect(response.body.code).toBe('REPORT_QUEUE_UNAVAILABLE');
      const rows = await offline.db.sql<{ status: string; error: string }[]>`SELECT status, error FROM financial_reports`;
      expect(rows).toEqual([{ status: 'failed', error: 'The report could not be queued: the job queue was unavailable' }]);
    } finally {
      await offline.close();
    }
  });
});
