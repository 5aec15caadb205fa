import type { Sql } from 'postgres';
import { readBooks } from '../test/setup/books';
import type { Tally } from './workloads';

/**
 * The contract's invariants, recomputed from the ledger (the same queries every money test ends
 * with), plus what only the bench knows: every fresh 201 the service sent is exactly one row.
 * Returns the problems found; empty means the books hold.
 */
export async function checkBooks(sql: Sql, tally: Tally | undefined): Promise<string[]> {
  const problems: string[] = [];
  const expect = (ok: boolean, what: string) => {
    if (!ok) problems.push(what);
  };
  const books = await readBooks(sql);
  expect(books.entriesSum === 0, `money not conserved: ledger entries sum to ${books.entriesSum}, not 0`);
  expect(books.unbalancedTransactions === 0, `${books.unbalancedTransactions} transactions do not balance`);
  expect(books.walletsOffLedger === 0, `${books.walletsOffLedger} wallet balances (row + slots) differ from their entries`);
  expect(books.authorsOffIdentity === 0, `${books.authorsOffIdentity} authors break 100*(credited - taken back) + carry = 70*sum(price - refunded)`);
  expect(books.purchasesOffSplit === 0, `${books.purchasesOffSplit} purchases break author + platform = price or the buyer leg`);
  expect(
    JSON.stringify(books.totals) === JSON.stringify(books.totalsFromLedger),
    `running totals ${JSON.stringify(books.totals)} differ from the ledger ${JSON.stringify(books.totalsFromLedger)}`,
  );
  expect(books.rollupsMatchTotals, 'hourly rollups do not add up to the running totals');
  expect(books.authorRollupsOffSales === 0, `${books.authorRollupsOffSales} author rollup rows differ from their purchases and refunds`);
  expect(books.refundsOffPurchase === 0, `${books.refundsOffPurchase} purchases refunded beyond their price or refunds split wrong`);
  expect(
    books.debt.wallets === books.debt.receivables,
    `wallets owe ${books.debt.wallets} cents of debt but the receivables account is owed ${books.debt.receivables}`,
  );
  const [negative] = await sql<{ n: number }[]>`
    SELECT (SELECT count(*) FROM wallets WHERE balance < 0 OR fractional_balance NOT BETWEEN 0 AND 99)::int
         + (SELECT count(*) FROM wallet_balance_slots WHERE balance < 0)::int AS n`;
  expect(negative!.n === 0, `${negative!.n} wallets or slots hold a negative balance or an out-of-range carry`);

  if (tally) {
    const ids = await sql<{ id: string }[]>`SELECT id FROM purchases`;
    const stored = new Set(ids.map((row) => row.id));
    const missing = [...tally.freshPurchaseIds].filter((id) => !stored.has(id)).length;
    const extra = ids.length - (tally.freshPurchaseIds.size - missing);
    expect(missing === 0, `${missing} purchases answered 201 are not in the database`);
    expect(extra === 0, `${extra} purchases in the database were never answered with a fresh 201`);
    expect(
      books.totalsFromLedger.purchaseVolume === tally.purchaseVolumeCents,
      `purchase volume ${books.totalsFromLedger.purchaseVolume} in the database, ${tally.purchaseVolumeCents} answered 201`,
    );
    const [refunds] = await sql<{ n: number; cents: string }[]>`
      SELECT count(*)::int AS n, coalesce(sum(amount), 0)::text AS cents FROM refunds`;
    expect(refunds!.n === tally.freshRefundIds.size, `${refunds!.n} refunds in the database, ${tally.freshRefundIds.size} answered 201`);
    expect(
      Number(refunds!.cents) === tally.refundedCents,
      `${refunds!.cents} cents refunded in the database, ${tally.refundedCents} answered 201`,
    );
    const [deposits] = await sql<{ n: number }[]>`SELECT count(*)::int AS n FROM deposits`;
    expect(deposits!.n === tally.freshDeposits, `${deposits!.n} deposits in the database, ${tally.freshDeposits} answered 201`);
    expect(
      books.totalsFromLedger.deposited === tally.depositedCents,
      `${books.totalsFromLedger.deposited} cents deposited in the database, ${tally.depositedCents} answered 201`,
    );
  }
  return problems;
}
