import postgres, { Sql } from 'postgres';
import { createSqlClient } from '../../src/db/database';
import { createTestDatabase, TestDatabase } from '../setup/test-database';

/**
 * A connection cut by the server while it is reserved (a transaction, `reserve()`) must fail the
 * work on it, not the process. postgres.js 3.4.9 queues a small write for the next turn of the
 * event loop; when the socket has closed meanwhile, that write threw from a timer, an uncaught
 * TypeError that killed the process (upstream porsager/postgres#1154, #1208). It happened to the
 * worker in the fault suite whenever PostgreSQL restarted under load: a transaction's backend was
 * terminated, and the driver's own ROLLBACK went to the dead socket. The driver is patched
 * (patches/postgres+3.4.9.patch): such a write fails its query with CONNECTION_CLOSED instead.
 */
describe('postgres.js: work on a connection the server closed', () => {
  let db: TestDatabase;
  let sql: Sql;
  let killer: Sql;
  const uncaught: unknown[] = [];
  const record = (error: unknown) => uncaught.push(error);

  beforeAll(async () => {
    db = await createTestDatabase();
    sql = createSqlClient({ url: db.url, poolMax: 2 });
    killer = postgres(db.url, { max: 1, onnotice: () => undefined });
    process.on('uncaughtException', record);
  });

  afterAll(async () => {
    process.off('uncaughtException', record);
    await sql.end({ timeout: 5 });
    await killer.end({ timeout: 5 });
    await db.drop();
  });

  /** Lets every queued immediate (where the driver writes) run. */
  const nextTurns = async () => {
    for (let turn = 0; turn < 5; turn++) await new Promise((resolve) => setImmediate(resolve));
  };

  it('a transaction whose backend is terminated fails with an error, and the process lives on', async () => {
    const outcome = sql.begin(async (tx) => {
      const [row] = await tx<{ pid: number }[]>`SELECT pg_backend_pid() AS pid`;
      await killer`SELECT pg_terminate_backend(${row!.pid})`;
      await tx`SELECT 1`;
    });
    await expect(outcome).rejects.toThrow();
    await nextTurns();
    expect(uncaught).toEqual([]);
    // The pool serves the next query on a fresh connection.
    expect(await sql`SELECT 1 AS one`).toEqual([{ one: 1 }]);
  });
});
