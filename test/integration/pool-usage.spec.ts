import { createSqlClient } from '../../src/db/database';
import { trackPoolUsage } from '../../src/db/pool-usage';
import { createTestDatabase, TestDatabase } from '../setup/test-database';

/** A promise with its resolver, to hold a transaction open until the test lets it go. */
function gate(): { opened: Promise<void>; open: () => void } {
  let open!: () => void;
  const opened = new Promise<void>((resolve) => (open = resolve));
  return { opened, open };
}

/** Polls until `condition` holds (the pool's state changes as PostgreSQL answers). */
async function until(condition: () => boolean, describe: () => string): Promise<void> {
  for (let attempt = 0; attempt < 500; attempt++) {
    if (condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`gave up waiting: ${describe()}`);
}

describe('pool usage (the figures behind db_pool_* in /metrics)', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase();
  });
  afterAll(async () => {
    await db.drop();
  });

  it('counts connections held by transactions and reservations, and what waits for one', async () => {
    const { sql, usage } = trackPoolUsage(createSqlClient({ url: db.url, poolMax: 2 }), 2);
    try {
      expect(usage()).toEqual({ inUse: 0, waiting: 0, max: 2 });

      const first = gate();
      const second = gate();
      const started: string[] = [];
      const transactions = [first, second].map((g, i) =>
        sql.begin(async (tx) => {
          await tx`SELECT 1`;
          started.push(`tx${i}`);
          await g.opened;
        }),
      );
      await until(() => started.length === 2, () => JSON.stringify(usage()));
      expect(usage()).toEqual({ inUse: 2, waiting: 0, max: 2 });

      // Both connections are taken: a statement, a transaction and a reservation have to wait.
      const statement = sql`SELECT 42 AS answer`.then((rows) => rows[0]!.answer as number);
      const third = gate();
      const queuedTransaction = sql.begin(async () => {
        await third.opened;
      });
      const reservation = sql.reserve();
      await until(() => usage().waiting === 3, () => JSON.stringify(usage()));
      expect(usage()).toEqual({ inUse: 2, waiting: 3, max: 2 });

      first.open();
      second.open();
      third.open();
      await Promise.all(transactions);
      expect(await statement).toBe(42);
      await queuedTransaction;
      const reserved = await reservation;
      expect(usage()).toEqual({ inUse: 1, waiting: 0, max: 2 });
      reserved.release();
      expect(usage()).toEqual({ inUse: 0, waiting: 0, max: 2 });
    } finally {
      await sql.end({ timeout: 5 });
    }
  });

  it('forgets a statement that failed, and one used only as a fragment of another', async () => {
    const { sql, usage } = trackPoolUsage(createSqlClient({ url: db.url, poolMax: 2 }), 2);
    try {
      await expect(sql`SELECT * FROM no_such_table`).rejects.toThrow(/no_such_table/);
      const rows = await sql`SELECT ${sql('x')} FROM (SELECT 7 AS x) t WHERE ${sql`true`}`;
      expect(rows[0]).toEqual({ x: 7 });
      const failed = sql.begin(async (tx) => {
        await tx`SELECT 1`;
        throw new Error('rolled back');
      });
      await expect(failed).rejects.toThrow('rolled back');
      expect(usage()).toEqual({ inUse: 0, waiting: 0, max: 2 });
    } finally {
      await sql.end({ timeout: 5 });
    }
  });
});
