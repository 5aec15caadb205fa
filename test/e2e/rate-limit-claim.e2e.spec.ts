import { randomUUID } from 'node:crypto';
import { REDIS_CACHE } from '../../src/redis/redis.module';
import { createWallet, purchase, TestWallet } from '../factories/wallets.factory';
import { startTestApp, TestApp } from '../setup/test-app';

/**
 * A money request with an Idempotency-Key is counted against its caller's limit and claims its
 * key in one Redis script call (ADR 0069). These specs pin what that must not change: the limit,
 * its 429 and headers, the key left free after a refusal, and replays.
 */
describe('rate limit and idempotency claim in one call (e2e)', () => {
  let t: TestApp;
  // A per-minute window so that the test does not depend on how fast requests go.
  const perMinute = 8;

  beforeAll(async () => {
    t = await startTestApp({ env: { RATE_LIMIT_PER_SECOND: '0', RATE_LIMIT_PER_MINUTE: String(perMinute) } });
  });
  afterAll(async () => {
    await t.close();
  });

  const lockKey = (userId: string, key: string) => `${t.keyPrefix}idem:{purchase:${userId}:${key}}:lock`;
  const resultKey = (userId: string, key: string) => `${t.keyPrefix}idem:{purchase:${userId}:${key}}`;
  const hitsKey = (userId: string) => `${t.keyPrefix}{ratelimit:minute:user:${userId}:minute}:hits`;
  const purchasesWithKey = async (key: string) =>
    (await t.db.sql`SELECT count(*)::int AS n FROM purchases WHERE idempotency_key = ${key}`)[0]!.n as number;

  /** A funded buyer (wallet creation and deposit: two requests of its budget) and an author of another caller. */
  async function buyerAndAuthor(): Promise<{ buyer: TestWallet; author: TestWallet }> {
    return { buyer: await createWallet(t.api, 100_000), author: await createWallet(t.api) };
  }

  it('counts each money request once, replays a key, and answers 429 with the usual headers leaving no claim behind', async () => {
    const { buyer, author } = await buyerAndAuthor();
    const keys = [randomUUID(), randomUUID(), randomUUID()];
    const combined = jest.spyOn(t.app.get(REDIS_CACHE), 'limitAndClaim' as never);
    const claimedAlone = jest.spyOn(t.app.get(REDIS_CACHE), 'idempotencyClaim' as never);
    try {
      for (const key of keys) expect((await purchase(t.api, buyer, author, 100, key)).status).toBe(201);
      // One script call per purchase for the limit and the claim; no claim of its own.
      expect(new Set(combined.mock.calls.map((call: unknown[]) => call[call.length - 2])).size).toBe(3);
      expect(claimedAlone).not.toHaveBeenCalled();
    } finally {
      combined.mockRestore();
      claimedAlone.mockRestore();
    }
    // The counter saw every request once: 2 for the wallet and deposit, 3 purchases.
    expect(Number(await t.redis.get(hitsKey(buyer.userId)))).toBe(5);

    // The first replay of a key in this process goes to Redis with the limit, and is answered from it.
    const first = await purchase(t.api, buyer, author, 100, keys[0]);
    expect(first.status).toBe(201);
    expect(first.headers.get('idempotent-replayed')).toBe('true');
    expect(await t.redis.exists(lockKey(buyer.userId, keys[0]!))).toBe(0);
    // The same key with another body is still a 422.
    expect((await purchase(t.api, buyer, author, 101, keys[1])).status).toBe(422);
    expect((await purchase(t.api, buyer, author, 100, randomUUID())).status).toBe(201);
    expect(Number(await t.redis.get(hitsKey(buyer.userId)))).toBe(perMinute);

    const refused = randomUUID();
    const limited = await purchase(t.api, buyer, author, 100, refused);
    expect(limited.status).toBe(429);
    expect(limited.headers.get('content-type')).toContain('application/problem+json');
    expect(limited.body).toMatchObject({ status: 429, code: 'RATE_LIMITED' });
    expect(limited.headers.get('ratelimit-limit')).toBe(String(perMinute));
    expect(limited.headers.get('ratelimit-remaining')).toBe('0');
    expect(Number(limited.headers.get('ratelimit-reset'))).toBeGreaterThanOrEqual(1);
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // Refused before its claim: no lock, no result, no purchase.
    expect(await t.redis.exists(lockKey(buyer.userId, refused), resultKey(buyer.userId, refused))).toBe(0);
    expect(await purchasesWithKey(refused)).toBe(0);
    // A replay is limited like any request.
    expect((await purchase(t.api, buyer, author, 100, keys[2])).status).toBe(429);

    // Another caller is not limited.
    const other = await buyerAndAuthor();
    expect((await purchase(t.api, other.buyer, other.author, 100)).status).toBe(201);
  });

  it('leaves the key free after a request refused by validation, so a retry with it succeeds', async () => {
    const { buyer, author } = await buyerAndAuthor();
    const key = randomUUID();
    const invalid = await t.api.post('/purchases', {
      userId: buyer.userId,
      idempotencyKey: key,
      body: { buyerWalletId: buyer.id, authorWalletId: author.id, itemPrice: -5 },
    });
    expect(invalid.status).toBe(400);
    // Released before the 400 left, not when the lock expires.
    expect(await t.redis.exists(lockKey(buyer.userId, key))).toBe(0);
    const retried = await purchase(t.api, buyer, author, 100, key);
    expect(retried.status).toBe(201);
    expect(retried.headers.get('idempotent-replayed')).toBeNull();

    // A refusal after the claim, in the service (self-purchase), frees the key as well.
    const self = randomUUID();
    expect((await purchase(t.api, buyer, buyer, 100, self)).status).toBe(400);
    expect(await t.redis.exists(lockKey(buyer.userId, self))).toBe(0);
    expect(await purchasesWithKey(self)).toBe(0);
  });

  it('answers concurrent duplicates of one key with one purchase and 409s', async () => {
    const { buyer, author } = await buyerAndAuthor();
    const key = randomUUID();
    const responses = await Promise.all(Array.from({ length: 4 }, () => purchase(t.api, buyer, author, 100, key)));
    const statuses = responses.map((r) => r.status).sort();
    // Each duplicate is either a 409 (the first still in flight) or a replay of the first.
    expect(statuses.filter((s) => s === 201).length).toBeGreaterThanOrEqual(1);
    expect(statuses.every((s) => s === 201 || s === 409)).toBe(true);
    expect(responses.filter((r) => r.status === 201 && r.headers.get('idempotent-replayed') === null)).toHaveLength(1);
    expect(await purchasesWithKey(key)).toBe(1);
    expect(await t.redis.exists(lockKey(buyer.userId, key))).toBe(0);
  });
});
