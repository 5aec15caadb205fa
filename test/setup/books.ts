import type { Sql } from 'postgres';

export interface Books {
  entriesSum: number;
  unbalancedTransactions: number;
  walletsOffLedger: number;
  authorsOffIdentity: number;
  purchasesOffSplit: number;
  totals: {
    deposited: number;
    withdrawn: number;
    purchaseVolume: number;
    royalties: number;
    platformRevenue: number;
    purchaseCount: number;
  };
  totalsFromLedger: Books['totals'];
  rollupsMatchTotals: boolean;
  /** Author-hour and author-day rollup rows that disagree with the purchases they count. */
  authorRollupsOffSales: number;
}

/**
 * Recomputes everything from the ledger and compares it with what the service keeps: the
 * independent check every money test ends with.
 */
export async function readBooks(sql: Sql): Promise<Books> {
  const [sums] = await sql`
    SELECT coalesce(sum(amount), 0)::text AS entries_sum FROM ledger_entries`;
  const [unbalanced] = await sql`
    SELECT count(*)::int AS n FROM (
      SELECT transaction_id FROM ledger_entries GROUP BY transaction_id HAVING sum(amount) <> 0) t`;
  const [walletsOff] = await sql`
    SELECT count(*)::int AS n FROM wallets w
     WHERE w.balance + coalesce((SELECT sum(balance) FROM wallet_balance_slots s WHERE s.wallet_id = w.id), 0)
        <> coalesce((SELECT sum(amount) FROM ledger_entries e WHERE e.wallet_id = w.id), 0)`;
  // Per author: 100 * royalty cents credited + carry = sum(price * percent).
  const [authorsOff] = await sql`
    SELECT count(*)::int AS n FROM wallets w
      JOIN (SELECT author_wallet_id, sum(author_amount) AS credited, sum(item_price * royalty_percent) AS owed
              FROM purchases GROUP BY author_wallet_id) p ON p.author_wallet_id = w.id
     WHERE 100 * p.credited + w.fractional_balance <> p.owed`;
  // The buyer's debit is a purchase's only negative leg; when the platform wallet buys, its
  // platform credit names the same wallet, so only the negative entries are the debit.
  const [splitOff] = await sql`
    SELECT count(*)::int AS n FROM purchases p
     WHERE p.author_amount + p.platform_amount <> p.item_price
        OR (SELECT coalesce(sum(amount), 0) FROM ledger_entries e
             WHERE e.transaction_id = p.id AND e.wallet_id = p.buyer_wallet_id AND e.amount < 0) <> -p.item_price`;
  const [totals] = await sql`
    SELECT coalesce(sum(deposited), 0)::text AS deposited, coalesce(sum(withdrawn), 0)::text AS withdrawn,
           coalesce(sum(purchase_volume), 0)::text AS purchase_volume, coalesce(sum(royalties), 0)::text AS royalties,
           coalesce(sum(platform_revenue), 0)::text AS platform_revenue,
           coalesce(sum(purchase_count), 0)::text AS purchase_count
      FROM running_totals`;
  const [rollups] = await sql`
    SELECT coalesce(sum(deposited), 0)::text AS deposited, coalesce(sum(withdrawn), 0)::text AS withdrawn,
           coalesce(sum(purchase_volume), 0)::text AS purchase_volume, coalesce(sum(royalties), 0)::text AS royalties,
           coalesce(sum(platform_revenue), 0)::text AS platform_revenue,
           coalesce(sum(purchase_count), 0)::text AS purchase_count
      FROM hourly_rollups`;
  const [ledger] = await sql`
    SELECT
      coalesce((SELECT sum(-amount) FROM ledger_entries WHERE system_account = 'funding'), 0)::text AS deposited,
      coalesce((SELECT sum(amount) FROM ledger_entries WHERE system_account = 'payout'), 0)::text AS withdrawn,
      coalesce((SELECT sum(item_price) FROM purchases), 0)::text AS purchase_volume,
      coalesce((SELECT sum(author_amount) FROM purchases), 0)::text AS royalties,
      coalesce((SELECT sum(platform_amount) FROM purchases), 0)::text AS platform_revenue,
      (SELECT count(*) FROM purchases)::text AS purchase_count`;
  const authorRollupsOff = (grain: 'hour' | 'day') => {
    const [table, bucket] = grain === 'hour' ? ['author_hourly_rollups', 'bucket_start'] : ['author_daily_rollups', 'day_start'];
    return sql.unsafe(`
      SELECT count(*)::int AS n FROM (
        SELECT author_wallet_id, date_trunc('${grain}', created_at, 'UTC') AS bucket,
               count(*) AS sales_count, sum(item_price) AS gross_volume, sum(author_amount) AS royalty
          FROM purchases GROUP BY 1, 2) p
      FULL JOIN ${table} a ON a.author_wallet_id = p.author_wallet_id AND a.${bucket} = p.bucket
     WHERE (coalesce(p.sales_count, 0), coalesce(p.gross_volume, 0), coalesce(p.royalty, 0))
           IS DISTINCT FROM (coalesce(a.sales_count, 0), coalesce(a.gross_volume, 0), coalesce(a.royalty, 0))`);
  };
  const [[hoursOff], [daysOff]] = await Promise.all([authorRollupsOff('hour'), authorRollupsOff('day')]);
  const toTotals = (row: Record<string, string>) => ({
    deposited: Number(row.deposited),
    withdrawn: Number(row.withdrawn),
    purchaseVolume: Number(row.purchase_volume),
    royalties: Number(row.royalties),
    platformRevenue: Number(row.platform_revenue),
    purchaseCount: Number(row.purchase_count),
  });
  const kept = toTotals(totals as Record<string, string>);
  return {
    entriesSum: Number(sums!.entries_sum),
    unbalancedTransactions: unbalanced!.n,
    walletsOffLedger: walletsOff!.n,
    authorsOffIdentity: authorsOff!.n,
    purchasesOffSplit: splitOff!.n,
    totals: kept,
    totalsFromLedger: toTotals(ledger as Record<string, string>),
    rollupsMatchTotals: JSON.stringify(toTotals(rollups as Record<string, string>)) === JSON.stringify(kept),
    authorRollupsOffSales: (hoursOff!.n as number) + (daysOff!.n as number),
  };
}

/** Jest assertions that the books balance to the cent. */
export async function expectBooksBalanced(sql: Sql): Promise<Books> {
  const books = await readBooks(sql);
  expect(books.entriesSum).toBe(0);
  expect(books.unbalancedTransactions).toBe(0);
  expect(books.walletsOffLedger).toBe(0);
  expect(books.authorsOffIdentity).toBe(0);
  expect(books.purchasesOffSplit).toBe(0);
  expect(books.totals).toEqual(books.totalsFromLedger);
  expect(books.rollupsMatchTotals).toBe(true);
  expect(books.authorRollupsOffSales).toBe(0);
  return books;
}
