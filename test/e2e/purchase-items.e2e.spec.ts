import { randomUUID } from 'node:crypto';
import { createWallet, TestWallet } from '../factories/wallets.factory';
import { ADMIN_USER_ID, startTestApp, TestApp } from '../setup/test-app';

/** Purchases that say what was bought (itemId, metadata), and the search over them. */
describe('purchase items and search (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  function buy(buyer: TestWallet, author: TestWallet, body: Record<string, unknown>, key: string = randomUUID()) {
    return t.api.post('/purchases', {
      userId: buyer.userId,
      idempotencyKey: key,
      body: { buyerWalletId: buyer.id, authorWalletId: author.id, itemPrice: 100, ...body },
    });
  }

  it('stores and returns itemId and metadata; a plain purchase shows both null', async () => {
    const buyer = await createWallet(t.api, 1_000);
    const author = await createWallet(t.api);
    const metadata = { orderId: 'A-1042', channel: 'web', note: 'a "quoted", comma' };
    const created = await buy(buyer, author, { itemId: 'ebook:978-0-13/468599.1_x', metadata });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ itemId: 'ebook:978-0-13/468599.1_x', metadata, authorAmount: 70 });
    const read = await t.api.get(`/purchases/${created.body.id}`, { userId: buyer.userId });
    expect(read.body).toEqual(created.body);

    const plain = await buy(buyer, author, {});
    expect(plain.status).toBe(201);
    expect(plain.body).toMatchObject({ itemId: null, metadata: null });
  });

  it.each([
    ['itemId', { itemId: '' }],
    ['itemId', { itemId: 'a'.repeat(201) }],
    ['itemId', { itemId: 'has space' }],
    ['itemId', { itemId: 42 }],
    ['metadata', { metadata: [] }],
    ['metadata', { metadata: 'text' }],
    ['metadata', { metadata: { n: 1 } }],
    ['metadata', { metadata: { nested: { a: 'b' } } }],
    ['metadata', { metadata: { ['k'.repeat(41)]: 'v' } }],
    ['metadata', { metadata: { '': 'v' } }],
    ['metadata', { metadata: { k: 'v'.repeat(501) } }],
    ['metadata', { metadata: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`k${i}`, 'v'])) }],
  ])('refuses a bad %s with a 400 naming it and moves nothing (%j)', async (field, body) => {
    const buyer = await createWallet(t.api, 1_000);
    const author = await createWallet(t.api);
    const response = await buy(buyer, author, body);
    expect(response.status).toBe(400);
    expect(JSON.stringify(response.body)).toContain(field);
    const wallet = await t.api.get(`/wallets/${buyer.id}`, { userId: buyer.userId });
    expect(wallet.body.balance).toBe(1_000);
  });

  it('accepts the limits exactly: 200-character itemId, 20 values, 40-character keys, 500-character values', async () => {
    const buyer = await createWallet(t.api, 1_000);
    const author = await createWallet(t.api);
    const metadata = Object.fromEntries(Array.from({ length: 20 }, (_, i) => [`${i}`.padStart(40, 'k'), 'v'.repeat(500)]));
    const response = await buy(buyer, author, { itemId: 'i'.repeat(200), metadata });
    expect(response.status).toBe(201);
    expect(response.body.metadata).toEqual(metadata);
  });

  it('itemId and metadata are part of the idempotency fingerprint: same key and body replays, another item is 422', async () => {
    const buyer = await createWallet(t.api, 1_000);
    const author = await createWallet(t.api);
    const key = randomUUID();
    const first = await buy(buyer, author, { itemId: 'song-1', metadata: { a: '1', b: '2' } }, key);
    // Key order in metadata does not matter.
    const replay = await buy(buyer, author, { metadata: { b: '2', a: '1' }, itemId: 'song-1' }, key);
    expect(replay.status).toBe(201);
    expect(replay.headers.get('idempotent-replayed')).toBe('true');
    expect(replay.body).toEqual(first.body);
    expect((await buy(buyer, author, { itemId: 'song-2', metadata: { a: '1', b: '2' } }, key)).status).toBe(422);
    expect((await buy(buyer, author, { itemId: 'song-1', metadata: { a: '1' } }, key)).status).toBe(422);
    expect((await buy(buyer, author, {}, key)).status).toBe(422);
  });

  it('searches by buyer, author and item, newest first, following nextCursor to the end without repeats', async () => {
    const buyer = await createWallet(t.api, 100_000);
    const otherBuyer = await createWallet(t.api, 100_000);
    const author = await createWallet(t.api);
    const ids: string[] = [];
    // Some purchases share a millisecond (parallel): the cursor's id tiebreak must keep them all.
    for (let round = 0; round < 4; round += 1) {
      const batch = await Promise.all(
        Array.from({ length: 4 }, (_, i) => buy(round % 2 === 0 ? buyer : otherBuyer, author, { itemId: `item-${i % 2}` })),
      );
      for (const response of batch) {
        expect(response.status).toBe(201);
        ids.push(response.body.id);
      }
    }

    async function all(query: string, userId: string): Promise<any[]> {
      const items: any[] = [];
      let cursor: string | null = null;
      for (let page = 0; page < 20; page += 1) {
        const response: { status: number; body: any } = await t.api.get(`/purchases?${query}&limit=3${cursor ? `&cursor=${cursor}` : ''}`, { userId });
        expect(response.status).toBe(200);
        expect(response.body.items.length).toBeLessThanOrEqual(3);
        items.push(...response.body.items);
        cursor = response.body.nextCursor;
        if (cursor === null) return items;
      }
      throw new Error('too many pages');
    }
    const newestFirst = (items: any[]) =>
      items.every((item, i) => i === 0 || items[i - 1].createdAt > item.createdAt || (items[i - 1].createdAt === item.createdAt && items[i - 1].id > item.id));

    const byAuthor = await all(`authorWalletId=${author.id}`, author.userId);
    expect(byAuthor.map((p) => p.id).sort()).toEqual([...ids].sort());
    expect(newestFirst(byAuthor)).toBe(true);

    const byBuyer = await all(`buyerWalletId=${buyer.id}`, buyer.userId);
    expect(byBuyer).toHaveLength(8);
    expect(byBuyer.every((p) => p.buyerWalletId === buyer.id)).toBe(true);

    const byItem = await all(`itemId=item-1`, ADMIN_USER_ID);
    expect(byItem).toHaveLength(8);
    expect(byItem.every((p) => p.itemId === 'item-1')).toBe(true);

    const buyerAndItem = await all(`buyerWalletId=${buyer.id}&itemId=item-0`, buyer.userId);
    expect(buyerAndItem).toHaveLength(4);

    // from inclusive, to exclusive, to the millisecond.
    const pivot = byAuthor[5].createdAt as string;
    const before = await all(`authorWalletId=${author.id}&to=${encodeURIComponent(pivot)}`, ADMIN_USER_ID);
    const after = await all(`authorWalletId=${author.id}&from=${encodeURIComponent(pivot)}`, ADMIN_USER_ID);
    expect(before.length + after.length).toBe(16);
    expect(before.every((p) => p.createdAt < pivot)).toBe(true);
    expect(after.every((p) => p.createdAt >= pivot)).toBe(true);
  });

  it('shows refunds in search results as in GET /purchases/:id', async () => {
    const buyer = await createWallet(t.api, 1_000);
    const author = await createWallet(t.api);
    const created = await buy(buyer, author, { itemId: 'refunded-item' });
    const refund = await t.api.post(`/purchases/${created.body.id}/refunds`, {
      userId: ADMIN_USER_ID,
      idempotencyKey: randomUUID(),
      body: { amount: 40 },
    });
    expect(refund.status).toBe(201);
    const page = await t.api.get(`/purchases?buyerWalletId=${buyer.id}`, { userId: buyer.userId });
    const read = await t.api.get(`/purchases/${created.body.id}`, { userId: buyer.userId });
    expect(page.body.items).toEqual([read.body]);
    expect(page.body.items[0]).toMatchObject({ status: 'partially_refunded', refundedAmount: 40 });
  });

  it('who may search: the named wallet\'s owner or an admin; 404 for someone else\'s wallet, 403 without a wallet', async () => {
    const buyer = await createWallet(t.api, 1_000);
    const author = await createWallet(t.api);
    const stranger = await createWallet(t.api);
    await buy(buyer, author, { itemId: 'private-item' });
    expect((await t.api.get(`/purchases?buyerWalletId=${buyer.id}`, { userId: stranger.userId })).status).toBe(404);
    expect((await t.api.get(`/purchases?authorWalletId=${author.id}`, { userId: buyer.userId })).status).toBe(404);
    expect((await t.api.get(`/purchases?buyerWalletId=${randomUUID()}`, { userId: buyer.userId })).status).toBe(404);
    expect((await t.api.get('/purchases?itemId=private-item', { userId: buyer.userId })).status).toBe(403);
    expect((await t.api.get('/purchases', { userId: buyer.userId })).status).toBe(403);
    expect((await t.api.get('/purchases?itemId=private-item')).status).toBe(401);
    const admin = await t.api.get('/purchases?itemId=private-item', { userId: ADMIN_USER_ID });
    expect(admin.status).toBe(200);
    expect(admin.body.items).toHaveLength(1);
  });

  it.each([
    ['buyerWalletId', 'buyerWalletId=not-a-uuid'],
    ['itemId', 'itemId=has%20space'],
    ['from', 'from=yesterday'],
    ['to', 'to=2026-02-30'],
    ['to', 'from=2026-02-02&to=2026-02-01'],
    ['limit', 'limit=0'],
    ['limit', 'limit=201'],
    ['cursor', 'cursor=bm9wZQ'],
    ['cursor', 'cursor=***'],
  ])('a bad %s is a 400 naming it (%s)', async (field, query) => {
    const response = await t.api.get(`/purchases?${query}`, { userId: ADMIN_USER_ID });
    expect(response.status).toBe(400);
    expect(JSON.stringify(response.body)).toContain(field);
  });
});
