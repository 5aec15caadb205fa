import { randomUUID } from 'node:crypto';
import { expectBooksBalanced } from '../setup/books';
import { createWallet, purchase } from '../factories/wallets.factory';
import { startTestApp, TestApp } from '../setup/test-app';

/**
 * A server that refuses writes (SQLSTATE 25006, what a standby or a demoted primary answers)
 * gives 503 SERVICE_UNAVAILABLE with Retry-After, never a 500, and commits nothing; a retry with
 * the same key succeeds once writes are accepted again (ADR 0050). The database is made
 * read-only by default for new sessions and the app's sessions are cut, so that the pool
 * reconnects into read-only sessions, as it would to a server that is not the primary.
 */
describe('writes refused as on a standby (e2e)', () => {
  let t: TestApp;

  beforeAll(async () => {
    t = await startTestApp();
  });
  afterAll(async () => {
    await t.db.sql.unsafe(`ALTER DATABASE "${t.db.name}" RESET default_transaction_read_only`).catch(() => undefined);
    await t.close();
  });

  async function cutAppSessions(): Promise<void> {
    await t.db.sql`
      SELECT pg_terminate_backend(pid) FROM pg_stat_activity
       WHERE datname = current_database() AND pid <> pg_backend_pid() AND application_name LIKE 'wallet-%'`;
  }

  it('answers 503 (not 500) for 25006, changes nothing, and takes the retry with the same key afterwards', async () => {
    const buyer = await createWallet(t.api, 10_000);
    const author = await createWallet(t.api);
    await t.db.sql.unsafe(`ALTER DATABASE "${t.db.name}" SET default_transaction_read_only = on`);
    await cutAppSessions();

    const key = randomUUID();
    // The first request after the cut may meet a connection that is just being replaced.
    let refused = await purchase(t.api, buyer, author, 1_000, key);
    for (let attempt = 0; attempt < 20 && refused.status !== 503; attempt++) refused = await purchase(t.api, buyer, author, 1_000, key);
    expect(refused.status).toBe(503);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect(refused.headers.get('retry-after')).toBe('1');
    expect(refused.body.code).toBe('SERVICE_UNAVAILABLE');
    // Not the cut itself: once the pool has reconnected, every write still meets a read-only session.
    await new Promise((resolve) => setTimeout(resolve, 300));
    for (let attempt = 0; attempt < 3; attempt++) expect((await purchase(t.api, buyer, author, 1_000, key)).status).toBe(503);
    const deposit = await t.api.post(`/wallets/${buyer.id}/deposit`, { userId: buyer.userId, idempotencyKey: randomUUID(), body: { amount: 5 } });
    expect(deposit.status).toBe(503);
    const [{ n }] = await t.db.sql<{ n: number }[]>`SELECT count(*)::int AS n FROM purchases`;
    expect(n).toBe(0);

    await t.db.sql.unsafe(`ALTER DATABASE "${t.db.name}" RESET default_transaction_read_only`);
    await cutAppSessions();
    let accepted = await purchase(t.api, buyer, author, 1_000, key);
    for (let attempt = 0; attempt < 20 && accepted.status !== 201; attempt++) accepted = await purchase(t.api, buyer, author, 1_000, key);
    expect(accepted.status).toBe(201);
    await expectBooksBalanced(t.db.sql);
  });
});
