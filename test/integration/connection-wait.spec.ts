import postgres from 'postgres';
import { ConnectionWaitTimeoutError, withConnectionWaitBound } from '../../src/db/connection-wait';
import { createSqlClient } from '../../src/db/database';
import { PostgresFaultProxy } from '../setup/postgres-fault-proxy';
import { createTestDatabase, TestDatabase } from '../setup/test-database';

/** Far above a local query's answer; only a pool that never hands out a connection reaches it. */
const ANSWER_BOUND_MS = 10_000;

/** Rejects if `work` has not settled within `ms`, so that a wedged pool fails the test instead of hanging it. */
function within<T>(ms: number, work: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
  });
  return Promise.race([work, expired]).finally(() => clearTimeout(timer));
}

/**
 * The connection-wait bound (ADR 0038) withdraws a query that got no connection in time. When
 * that query was the one a connection attempt was opened for, and the attempt succeeds after the
 * caller got its error (a silent outage ends), the connection must still join the pool (ADR 0054).
 */
describe('connection wait bound (withdrawn queries)', () => {
  let db: TestDatabase;
  let proxy: PostgresFaultProxy;

  beforeAll(async () => {
    db = await createTestDatabase();
    const target = new URL(db.url);
    proxy = new PostgresFaultProxy(target.hostname, Number(target.port || 5432));
    await proxy.setMode('forward');
  });
  afterAll(async () => {
    await proxy?.stop();
    await db?.drop();
  });

  it('a connection opened for a query withdrawn meanwhile serves the next query', async () => {
    // One slot, and a connect timeout far above the wait bound: the attempt is still pending
    // when the query it was opened for is withdrawn, and succeeds once the proxy forwards again.
    const raw = postgres(proxy.urlFor(db.url), { max: 1, connect_timeout: 30, onnotice: () => undefined });
    const sql = withConnectionWaitBound(raw, 200);
    try {
      await proxy.setMode('silent');
      await expect(sql`select 1 as answer`).rejects.toBeInstanceOf(ConnectionWaitTimeoutError);
      // Cuts the silent socket: the driver reconnects for the withdrawn query, this time to PostgreSQL.
      await proxy.setMode('forward');
      const rows = await within(ANSWER_BOUND_MS, sql`select 2 as answer`);
      expect(rows[0]).toEqual({ answer: 2 });
    } finally {
      await proxy.setMode('forward');
      await raw.end({ timeout: 1 });
    }
  });

  it('a withdrawn write never reaches PostgreSQL, even when its connection attempt succeeds later', async () => {
    await db.sql`create table withdrawn_writes (note text not null)`;
    const raw = postgres(proxy.urlFor(db.url), { max: 1, connect_timeout: 30, onnotice: () => undefined });
    const sql = withConnectionWaitBound(raw, 200);
    try {
      await proxy.setMode('silent');
      await expect(sql`insert into withdrawn_writes (note) values (${'late'})`).rejects.toBeInstanceOf(ConnectionWaitTimeoutError);
      await proxy.setMode('forward');
      // The connection opened for the insert runs the neutral statement in its place, then this.
      const rows = await within(ANSWER_BOUND_MS, sql`select count(*)::int as writes from withdrawn_writes`);
      expect(rows[0]).toEqual({ writes: 0 });
    } finally {
      await proxy.setMode('forward');
      await raw.end({ timeout: 1 });
    }
  });

  // Known open: nothing ends a pooled connection that stopped answering after a query was sent
  // on it (half-open). Its query and every query pipelined behind it wait until TCP gives up
  // (minutes on a real network; never here, where the proxy's kernel acknowledges the bytes).
  // A silence deadline cannot tell it from a long report query (ADR 0054, Consequences).
  // Flips to passing when the pool replaces such a connection.
  const HALF_OPEN_ANSWER_BOUND_MS = 5_000;
  it.failing('a half-open pooled connection is replaced once PostgreSQL is reachable again', async () => {
    const sql = createSqlClient({ url: proxy.urlFor(db.url), poolMax: 1 });
    try {
      await sql`select 1`;
      proxy.freezeOpenConnections();
      sql`select pg_sleep(0)`.catch(() => undefined);
      // New connections reach PostgreSQL at once; only the frozen one is dead.
      const rows = await within(HALF_OPEN_ANSWER_BOUND_MS, sql`select 3 as answer`);
      expect(rows[0]).toEqual({ answer: 3 });
    } finally {
      await sql.end({ timeout: 0.1 });
    }
  });
});
