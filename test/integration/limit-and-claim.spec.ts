import Redis from 'ioredis';
import { randomUUID } from 'node:crypto';
import type { AppConfig } from '../../src/config/app-config';
import { IdempotencyService } from '../../src/idempotency/idempotency.service';
import { FailOpenThrottlerStorage } from '../../src/rate-limit/fail-open-throttler-storage';
import { LimitWindow, ScriptCachedThrottlerStorage } from '../../src/rate-limit/script-cached-throttler-storage';
import { deleteKeys } from '../setup/redis-keys';
import { randomPrefix } from '../setup/test-database';
import { TEST_REDIS_URL } from '../setup/test-env';

/**
 * The combined script (ADR 0069) must count exactly as the library's counter it replaces on
 * money requests, window by window, and claim only requests it lets through.
 */
describe('rate limit and idempotency claim in one script', () => {
  const prefix = randomPrefix();
  let redis: Redis;
  let storage: ScriptCachedThrottlerStorage;

  beforeAll(() => {
    redis = new Redis(TEST_REDIS_URL, { keyPrefix: prefix, maxRetriesPerRequest: 1 });
    storage = new ScriptCachedThrottlerStorage(redis);
  });
  afterAll(async () => {
    const admin = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
    await deleteKeys(admin, prefix);
    admin.disconnect();
    redis.disconnect();
  });

  const claimFor = (key: string) => {
    const resultKey = `idem:{purchase:caller:${key}}`;
    return { resultKey, lockKey: `${resultKey}:lock`, token: randomUUID() };
  };

  it('counts, blocks and answers like the library counter, and claims only what it lets through', async () => {
    const window: LimitWindow = { name: 'minute', key: `ratelimit:minute:user:${randomUUID()}`, ttlMs: 60_000, limit: 3, blockDurationMs: 60_000 };
    const libraryKey = `ratelimit:minute:user:${randomUUID()}`;
    for (let request = 1; request <= 5; request++) {
      const library = await storage.increment(libraryKey, window.ttlMs, window.limit, window.blockDurationMs, window.name);
      const claim = claimFor(randomUUID());
      const combined = await storage.incrementAndClaim([window], claim, 10_000);
      expect(Number(await redis.get(`{${window.key}:minute}:hits`))).toBe(library.totalHits);
      if (library.isBlocked) {
        // Times are whole seconds left, read a few milliseconds apart: only their range is compared.
        expect(combined).toEqual({
          kind: 'limited',
          window,
          record: { ...library, timeToExpire: expect.any(Number), timeToBlockExpire: expect.any(Number) },
        });
        if (combined.kind !== 'limited') throw new Error('unreachable');
        expect(combined.record.timeToBlockExpire).toBeGreaterThanOrEqual(1);
        expect(combined.record.timeToBlockExpire).toBeLessThanOrEqual(60);
        // Refused: no lock taken (the prefix applies to the script's keys: ioredis adds it).
        expect(await redis.exists(claim.lockKey)).toBe(0);
      } else {
        expect(combined).toEqual({ kind: 'claim', answer: ['claimed'] });
        expect(await redis.get(claim.lockKey)).toBe(claim.token);
      }
      expect(library.isBlocked).toBe(request > window.limit);
    }
  });

  it('stops at the first window that refuses, as the guard does window by window', async () => {
    const tracker = randomUUID();
    const second: LimitWindow = { name: 'second', key: `ratelimit:second:user:${tracker}`, ttlMs: 60_000, limit: 1, blockDurationMs: 60_000 };
    const minute: LimitWindow = { name: 'minute', key: `ratelimit:minute:user:${tracker}`, ttlMs: 60_000, limit: 100, blockDurationMs: 60_000 };
    expect((await storage.incrementAndClaim([second, minute], claimFor(randomUUID()), 10_000)).kind).toBe('claim');
    const refused = await storage.incrementAndClaim([second, minute], claimFor(randomUUID()), 10_000);
    expect(refused).toMatchObject({ kind: 'limited', window: second, record: { totalHits: 2, isBlocked: true } });
    expect(Number(await redis.get(`{${minute.key}:minute}:hits`))).toBe(1);
  });

  it('answers a stored result, or a lock held by another request', async () => {
    const window: LimitWindow = { name: 'minute', key: `ratelimit:minute:user:${randomUUID()}`, ttlMs: 60_000, limit: 100, blockDurationMs: 60_000 };
    const claim = claimFor(randomUUID());
    expect(await storage.incrementAndClaim([window], claim, 10_000)).toEqual({ kind: 'claim', answer: ['claimed'] });
    expect(await storage.incrementAndClaim([window], { ...claim, token: randomUUID() }, 10_000)).toEqual({
      kind: 'claim',
      answer: ['in_flight'],
    });
    await redis.set(claim.resultKey, '{"fingerprint":"f","body":1}');
    expect(await storage.incrementAndClaim([window], { ...claim, token: randomUUID() }, 10_000)).toEqual({
      kind: 'claim',
      answer: ['result', '{"fingerprint":"f","body":1}'],
    });
  });

  it('fails open when Redis does not answer: not limited, nothing claimed', async () => {
    const dead = new Redis('redis://127.0.0.1:1', { lazyConnect: true, enableOfflineQueue: false, maxRetriesPerRequest: 0 });
    const failOpen = new FailOpenThrottlerStorage(new ScriptCachedThrottlerStorage(dead));
    const window: LimitWindow = { name: 'minute', key: 'ratelimit:minute:user:x', ttlMs: 60_000, limit: 1, blockDurationMs: 60_000 };
    expect(await failOpen.incrementAndClaim([window], claimFor('k'), 10_000)).toEqual({ kind: 'unavailable' });
    dead.disconnect();
  });

  it('a claim that got no answer in time, though Redis took the lock, still lets its own request through and frees the lock', async () => {
    const idempotency = new IdempotencyService(redis, { idempotencyMemoryResults: 0 } as AppConfig);
    const scope = { callerId: randomUUID(), operation: 'purchase' as const, key: randomUUID() };
    const claim = idempotency.earlyClaimOf(scope, randomUUID());
    // The script ran and took the lock, but its answer came after the command timeout.
    await redis.set(claim.lockKey, claim.token, 'PX', 10_000);
    const request = {};
    idempotency.adopt(request, claim, ['no_cache']);
    let runs = 0;
    const outcome = await idempotency.execute(scope, 'fingerprint', async () => {
      runs += 1;
      return { body: { id: 1 }, replayed: false, storedFingerprint: 'fingerprint' };
    });
    expect(outcome).toEqual({ body: { id: 1 }, replayed: false });
    expect(runs).toBe(1);
    expect(await redis.exists(claim.lockKey)).toBe(0);
    expect(JSON.parse((await redis.get(claim.resultKey))!)).toEqual({ fingerprint: 'fingerprint', body: { id: 1 } });
    await idempotency.releaseUnadopted(request);
  });
});
