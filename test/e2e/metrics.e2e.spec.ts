import { randomUUID } from 'node:crypto';
import { createWallet, purchase } from '../factories/wallets.factory';
import { startTestApp, TestApp } from '../setup/test-app';

/** The value of one sample in Prometheus text format, or undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  const wanted = Object.entries(labels).map(([key, value]) => `${key}="${value}"`);
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${name}{`)) continue;
    const labelPart = line.slice(name.length + 1, line.indexOf('}'));
    if (wanted.every((pair) => labelPart.split(',').includes(pair))) return Number(line.split(' ').pop());
  }
  return undefined;
}

describe('metrics (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.close();
  });

  const scrape = async () => String((await t.api.get('/metrics')).body);

  it('observes latency by route template and status, never by raw URL', async () => {
    const walletId = randomUUID();
    await t.api.get(`/wallets/${walletId}`, { userId: randomUUID() });
    await t.api.get(`/wallets/${walletId}`, { userId: randomUUID() });
    await t.api.get('/no/such/route');
    const text = await scrape();
    const route = { method: 'GET', route: '/wallets/:walletId', status: '404' };
    expect(sample(text, 'http_request_duration_seconds_count', route)).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'http_request_duration_seconds_bucket', { ...route, le: '+Inf' })).toBeGreaterThanOrEqual(2);
    expect(sample(text, 'http_request_duration_seconds_count', { route: 'unmatched', status: '404' })).toBeGreaterThanOrEqual(1);
    expect(text).not.toContain(walletId);
    expect(text).not.toContain('/no/such/route');
  });

  it('counts purchases, replays, conflicts and rejections', async () => {
    const before = await scrape();
    const count = (text: string, operation: string, outcome: string) =>
      sample(text, 'wallet_operations_total', { operation, outcome }) ?? 0;

    const buyer = await createWallet(t.api, 1_000);
    const author = await createWallet(t.api);
    const key = randomUUID();
    expect((await purchase(t.api, buyer, author, 300, key)).status).toBe(201);
    expect((await purchase(t.api, buyer, author, 300, key)).status).toBe(201);
    expect((await purchase(t.api, buyer, author, 400, key)).status).toBe(422);
    expect((await purchase(t.api, buyer, author, 5_000)).status).toBe(402);
    const withdrawal = await t.api.post(`/wallets/${buyer.id}/withdrawals`, {
      userId: buyer.userId,
      idempotencyKey: randomUUID(),
      body: { amount: 100 },
    });
    expect(withdrawal.status).toBe(201);

    const after = await scrape();
    const delta = (operation: string, outcome: string) => count(after, operation, outcome) - count(before, operation, outcome);
    expect(delta('purchase', 'completed')).toBe(1);
    expect(delta('purchase', 'replayed')).toBe(1);
    expect(delta('purchase', 'key_reused')).toBe(1);
    expect(delta('purchase', 'rejected')).toBe(1);
    expect(delta('deposit', 'completed')).toBe(1);
    expect(delta('withdrawal', 'completed')).toBe(1);
  });

  it('shows where a purchase waited: its batch\'s queue wait, run and size, beside event-loop delay and GC pauses', async () => {
    const count = (text: string, name: string, labels: Record<string, string>) => sample(text, name, labels) ?? 0;
    const before = await scrape();
    const buyer = await createWallet(t.api, 1_000);
    const author = await createWallet(t.api);
    const purchases = await Promise.all([100, 200, 300].map((price) => purchase(t.api, buyer, author, price)));
    expect(purchases.map((response) => response.status)).toEqual([201, 201, 201]);
    const after = await scrape();
    const purchaseBatch = { batch: 'purchase' };
    expect(count(after, 'batch_queue_wait_seconds_count', purchaseBatch) - count(before, 'batch_queue_wait_seconds_count', purchaseBatch)).toBe(3);
    expect(count(after, 'batch_size_items_sum', purchaseBatch) - count(before, 'batch_size_items_sum', purchaseBatch)).toBe(3);
    const committed = { batch: 'purchase', outcome: 'committed' };
    expect(count(after, 'batch_run_seconds_count', committed) - count(before, 'batch_run_seconds_count', committed)).toBeGreaterThanOrEqual(1);
    // The deposit that funded the buyer went through the deposit batches.
    expect(count(after, 'batch_size_items_sum', { batch: 'deposit' })).toBeGreaterThanOrEqual(1);
    expect(after).toContain('# TYPE nodejs_eventloop_delay_seconds histogram');
    expect(after).toMatch(/^nodejs_eventloop_delay_seconds_bucket\{le="0.0005"\} \d+$/m);
    expect(after).toContain('# TYPE nodejs_gc_duration_seconds histogram');
    expect(after).toMatch(/^process_id \d+$/m);
  });

  it('counts a same-key request that arrives while the first is in flight as a conflict', async () => {
    const buyer = await createWallet(t.api, 1_000);
    const author = await createWallet(t.api);
    const key = randomUUID();
    // The in-flight claim as the first request leaves it in Redis while it runs.
    await t.redis.set(`${t.keyPrefix}idem:{purchase:${buyer.userId}:${key}}:lock`, 'another-request', 'PX', 10_000);
    const before = sample(await scrape(), 'wallet_operations_total', { operation: 'purchase', outcome: 'conflict' }) ?? 0;
    expect((await purchase(t.api, buyer, author, 100, key)).status).toBe(409);
    const after = sample(await scrape(), 'wallet_operations_total', { operation: 'purchase', outcome: 'conflict' }) ?? 0;
    expect(after - before).toBe(1);
  });
});

describe('metrics: database pool and METRICS_TOKEN (e2e)', () => {
  const token = 'scrape-token-0123456789abcdef';
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp({ env: { METRICS_TOKEN: token, DATABASE_POOL_MAX: '7' } });
  });
  afterAll(async () => {
    await t.close();
  });

  it('answers 401 problem details without the token or with a wrong one', async () => {
    const attempts: Record<string, string>[] = [{}, { authorization: 'Bearer wrong-token-0123456789' }, { authorization: token }];
    for (const headers of attempts) {
      const response = await t.api.get('/metrics', { headers });
      expect(response.status).toBe(401);
      expect(response.body).toMatchObject({ code: 'UNAUTHENTICATED', detail: expect.stringContaining('METRICS_TOKEN') });
    }
  });

  it('renders the pool gauges for a scraper that sends the token (scheme in any case)', async () => {
    for (const authorization of [`Bearer ${token}`, `bearer   ${token} `]) {
      const response = await t.api.get('/metrics', { headers: { authorization } });
      expect(response.status).toBe(200);
      const text = String(response.body);
      // The scrape itself runs no query; background jobs of this instance may hold a connection.
      const inUse = Number(/^db_pool_connections_in_use (\d+)$/m.exec(text)?.[1]);
      expect(inUse).toBeGreaterThanOrEqual(0);
      expect(inUse).toBeLessThanOrEqual(7);
      expect(text).toMatch(/^db_pool_waiting \d+$/m);
      expect(text).toMatch(/^db_pool_connections_max 7$/m);
    }
  });
});
