import fc from 'fast-check';
import '../setup/seeded';
import postgres from 'postgres';
import { splitAmongPayees } from '../../src/purchases/royalty-split';
import { createTestDatabase, TestDatabase } from '../setup/test-database';

/**
 * The split rule exists twice, as royalty_parts in SQL (which moves the money) and as
 * splitAmongPayees in TypeScript (which the service and the tests reason with); they must agree
 * on every input (ADR 0045).
 */
describe('royalty_parts agrees with splitAmongPayees', () => {
  let db: TestDatabase;
  let sql: postgres.Sql;

  beforeAll(async () => {
    db = await createTestDatabase();
    sql = postgres(db.url, { max: 2 });
  });
  afterAll(async () => {
    await sql.end();
    await db.drop();
  });

  const shares = fc
    .integer({ min: 1, max: 10 })
    .chain((count) => fc.uniqueArray(fc.integer({ min: 1, max: 9_999 }), { minLength: count - 1, maxLength: count - 1 }))
    .map((cuts) => {
      const points = [0, ...[...cuts].sort((a, b) => a - b), 10_000];
      return points.slice(1).map((point, i) => point - points[i]!);
    });

  it('on ties, small totals, equal shares and random cases up to 10^11 centi-cents', async () => {
    const fixed: Array<[number, number[]]> = [
      [6930, [3333, 3333, 3334]],
      [1, [5000, 5000]],
      [2, [3333, 3333, 3334]],
      [0, [10_000]],
      [9, Array.from({ length: 10 }, () => 1000)],
      [100_000_000_000, [1, 9_999]],
    ];
    const random = fc.sample(fc.tuple(fc.integer({ min: 0, max: 100_000_000_000 }), shares), 300);
    for (const [total, sharesBps] of [...fixed, ...random]) {
      const [row] = await sql<{ parts: string[] }[]>`
        SELECT royalty_parts(p_total_centi_cents => ${total}::bigint, p_shares_bps => ${sharesBps}::integer[])::text[] AS parts`;
      expect({ total, sharesBps, parts: row!.parts.map(Number) }).toEqual({ total, sharesBps, parts: splitAmongPayees(total, sharesBps) });
    }
  });
});
