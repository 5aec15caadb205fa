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
    refunded: number;
    royaltiesRefunded: number;
    platformRevenueRefunded: number;
    refundCount: number;
    payoutsPaid: number;
    payoutsFailed: number;
  };
  totalsFromLedger: Books['totals'];
  rollupsMatchTotals: boolean;
  /** Author-hour, author-day and item-payee-hour rollup rows that disagree with the purchases and refunds they count. */
  authorRollupsOffSales: number;
  /** Purchases refunded beyond their price, or refunds whose split does not add up. */
  refundsOffPurchase: number;
  /** The wallets' debt next to what the receivables account is owed; the two must be equal. */
  debt: { wallets: number; receivables: number };
  /** Pending withdrawals next to the payouts_pending account (ADR 0018); the two must be equal. */
  pendingPayouts: { withdrawals: number; account: number };
  /** Withdrawals with more than one outcome, or an outcome whose ledger legs do not match it. */
  payoutOutcomesOff: number;
  /** Authorized holds, the wallets' held balances and the holds account (ADR 0018); all three must be equal. */
  holds: { authorized: number; heldBalances: number; account: number };
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
  // Per author: 100 * (royalty cents credited - taken back) + carry = sum(percent * (price - refunded));
  // per payee of split purchases (ADR 0045) the same with its own parts, net of refunds.
  const [authorsOff] = await sql`
    SELECT count(*)::int AS n FROM wallets w
      JOIN (SELECT author_wallet_id, sum(credited) AS credited, sum(owed) AS owed FROM (
              SELECT author_wallet_id, author_amount AS credited, item_price * royalty_percent AS owed FROM purchases
               WHERE royalty_terms_version IS NULL
              UNION ALL
              SELECT p.author_wallet_id, -r.author_amount, -r.amount * r.royalty_percent
                FROM refunds r JOIN purchases p ON p.id = r.purchase_id WHERE p.royalty_terms_version IS NULL
              UNION ALL
              SELECT wallet_id, amount_cents, part_centi_cents FROM purchase_payees
              UNION ALL
              SELECT wallet_id, -amount_cents, -part_centi_cents FROM refund_payees) flows
             GROUP BY author_wallet_id) p ON p.author_wallet_id = w.id
     WHERE 100 * p.credited + w.fractional_balance <> p.owed`;
  // What reached the buyer (its wallet, or receivables for its debt) is the refund's amount; a
  // positive receivables leg may also be the platform's debt that the refund repaid (ADR 0045).
  const [refundsOff] = await sql`
    SELECT (SELECT count(*) FROM purchases p
             WHERE (SELECT coalesce(sum(r.amount), 0) FROM refunds r WHERE r.purchase_id = p.id) > p.item_price)::int
         + (SELECT count(*) FROM refunds r WHERE r.author_amount + r.platform_amount <> r.amount
               OR (SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e JOIN purchases p ON p.id = r.purchase_id
                    WHERE e.transaction_id = r.id AND (e.wallet_id = p.buyer_wallet_id AND e.amount > 0
                                                       OR e.system_account = 'receivables' AND e.amount > 0))
                  <> r.amount + r.platform_debt_repaid)::int AS n`;
  const [debt] = await sql`
    SELECT (SELECT coalesce(sum(debt), 0) FROM wallets)::text AS wallets,
           (SELECT coalesce(-sum(amount), 0) FROM ledger_entries WHERE system_account = 'receivables')::text AS receivables`;
  // The buyer's debit is a purchase's only negative leg; when the platform wallet buys, its
  // platform credit names the same wallet, so only the negative entries are the debit. A
  // capture's debit is the holds account's (ADR 0018).
  const [splitOff] = await sql`
    SELECT count(*)::int AS n FROM purchases p
     WHERE p.author_amount + p.platform_amount <> p.item_price
        OR (SELECT coalesce(sum(amount), 0) FROM ledger_entries e
             WHERE e.transaction_id = p.id AND e.amount < 0
               AND CASE WHEN p.paid_from_hold THEN e.system_account = 'holds' ELSE e.wallet_id = p.buyer_wallet_id END)
           <> -p.item_price
        -- A split purchase's parts add up to the whole, in centi-cents and in cents.
        OR p.royalty_terms_version IS NOT NULL AND (
             SELECT (sum(x.part_centi_cents)::bigint, sum(x.amount_cents)::bigint) FROM purchase_payees x WHERE x.purchase_id = p.id)
           IS DISTINCT FROM (p.item_price * p.royalty_percent::bigint, p.author_amount)`;
  const [totals] = await sql`
    SELECT coalesce(sum(deposited), 0)::text AS deposited, coalesce(sum(withdrawn), 0)::text AS withdrawn,
           coalesce(sum(purchase_volume), 0)::text AS purchase_volume, coalesce(sum(royalties), 0)::text AS royalties,
           coalesce(sum(platform_revenue), 0)::text AS platform_revenue,
           coalesce(sum(purchase_count), 0)::text AS purchase_count, coalesce(sum(refunded), 0)::text AS refunded,
           coalesce(sum(royalties_refunded), 0)::text AS royalties_refunded,
           coalesce(sum(platform_revenue_refunded), 0)::text AS platform_revenue_refunded,
           coalesce(sum(refund_count), 0)::text AS refund_count,
           coalesce(sum(payouts_paid), 0)::text AS payouts_paid, coalesce(sum(payouts_failed), 0)::text AS payouts_failed
      FROM running_totals`;
  const [rollups] = await sql`
    SELECT coalesce(sum(deposited), 0)::text AS deposited, coalesce(sum(withdrawn), 0)::text AS withdrawn,
           coalesce(sum(purchase_volume), 0)::text AS purchase_volume, coalesce(sum(royalties), 0)::text AS royalties,
           coalesce(sum(platform_revenue), 0)::text AS platform_revenue,
           coalesce(sum(purchase_count), 0)::text AS purchase_count, coalesce(sum(refunded), 0)::text AS refunded,
           coalesce(sum(royalties_refunded), 0)::text AS royalties_refunded,
           coalesce(sum(platform_revenue_refunded), 0)::text AS platform_revenue_refunded,
           coalesce(sum(refund_count), 0)::text AS refund_count,
           coalesce(sum(payouts_paid), 0)::text AS payouts_paid, coalesce(sum(payouts_failed), 0)::text AS payouts_failed
      FROM hourly_rollups`;
  const [ledger] = await sql`
    SELECT
      coalesce((SELECT sum(-amount) FROM ledger_entries WHERE system_account = 'funding'), 0)::text AS deposited,
      coalesce((SELECT sum(amount) FROM ledger_entries WHERE system_account IN ('payout', 'payouts_pending')), 0)::text
        AS withdrawn,
      coalesce((SELECT sum(amount) FROM ledger_entries WHERE system_account = 'payout'), 0)::text AS payouts_paid,
      coalesce((SELECT sum(amount) FROM withdrawal_outcomes WHERE status = 'failed'), 0)::text AS payouts_failed,
      coalesce((SELECT sum(item_price) FROM purchases), 0)::text AS purchase_volume,
      coalesce((SELECT sum(author_amount) FROM purchases), 0)::text AS royalties,
      coalesce((SELECT sum(platform_amount) FROM purchases), 0)::text AS platform_revenue,
      (SELECT count(*) FROM purchases)::text AS purchase_count,
      coalesce((SELECT sum(amount) FROM refunds), 0)::text AS refunded,
      coalesce((SELECT sum(author_amount) FROM refunds), 0)::text AS royalties_refunded,
      coalesce((SELECT sum(platform_amount) FROM refunds), 0)::text AS platform_revenue_refunded,
      (SELECT count(*) FROM refunds)::text AS refund_count`;
  const authorRollupsOff = (grain: 'hour' | 'day') => {
    const [table, bucket] = grain === 'hour' ? ['author_hourly_rollups', 'bucket_start'] : ['author_daily_rollups', 'day_start'];
    return sql.unsafe(`
      SELECT count(*)::int AS n FROM (
        SELECT author_wallet_id, bucket, sum(sales_count) AS sales_count, sum(gross_volume) AS gross_volume,
               sum(royalty) AS royalty, sum(refunded_volume) AS refunded_volume, sum(royalty_refunded) AS royalty_refunded
          FROM (SELECT author_wallet_id, date_trunc('${grain}', created_at, 'UTC') AS bucket, 1 AS sales_count,
                       item_price AS gross_volume, author_amount AS royalty, 0 AS refunded_volume, 0 AS royalty_refunded
                  FROM purchases WHERE royalty_terms_version IS NULL
                UNION ALL
                SELECT p.author_wallet_id, date_trunc('${grain}', r.created_at, 'UTC'), 0, 0, 0, r.amount, r.author_amount
                  FROM refunds r JOIN purchases p ON p.id = r.purchase_id WHERE p.royalty_terms_version IS NULL
                UNION ALL
                SELECT x.wallet_id, date_trunc('${grain}', x.created_at, 'UTC'), 1, p.item_price, x.amount_cents, 0, 0
                  FROM purchase_payees x JOIN purchases p ON p.id = x.purchase_id
                UNION ALL
                SELECT x.wallet_id, date_trunc('${grain}', x.created_at, 'UTC'), 0, 0, 0, r.amount, x.amount_cents
                  FROM refund_payees x JOIN refunds r ON r.id = x.refund_id) flows
         GROUP BY 1, 2) p
      FULL JOIN ${table} a ON a.author_wallet_id = p.author_wallet_id AND a.${bucket} = p.bucket
     WHERE (coalesce(p.sales_count, 0), coalesce(p.gross_volume, 0), coalesce(p.royalty, 0),
            coalesce(p.refunded_volume, 0), coalesce(p.royalty_refunded, 0))
           IS DISTINCT FROM (coalesce(a.sales_count, 0), coalesce(a.gross_volume, 0), coalesce(a.royalty, 0),
                             coalesce(a.refunded_volume, 0), coalesce(a.royalty_refunded, 0))`);
  };
  // Item rollups (ADR 0066): the same figures per item, payee and hour, for purchases naming an item.
  const itemRollupsOff = sql`
    SELECT count(*)::int AS n FROM (
      SELECT item_id, author_wallet_id, bucket, sum(sales_count) AS sales_count, sum(gross_volume) AS gross_volume,
             sum(royalty) AS royalty, sum(refunded_volume) AS refunded_volume, sum(royalty_refunded) AS royalty_refunded
        FROM (SELECT item_id, author_wallet_id, date_trunc('hour', created_at, 'UTC') AS bucket, 1 AS sales_count,
                     item_price AS gross_volume, author_amount AS royalty, 0 AS refunded_volume, 0 AS royalty_refunded
                FROM purchases WHERE royalty_terms_version IS NULL AND item_id IS NOT NULL
              UNION ALL
              SELECT p.item_id, p.author_wallet_id, date_trunc('hour', r.created_at, 'UTC'), 0, 0, 0, r.amount, r.author_amount
                FROM refunds r JOIN purchases p ON p.id = r.purchase_id
               WHERE p.royalty_terms_version IS NULL AND p.item_id IS NOT NULL
              UNION ALL
              SELECT p.item_id, x.wallet_id, date_trunc('hour', x.created_at, 'UTC'), 1, p.item_price, x.amount_cents, 0, 0
                FROM purchase_payees x JOIN purchases p ON p.id = x.purchase_id WHERE p.item_id IS NOT NULL
              UNION ALL
              SELECT p.item_id, x.wallet_id, date_trunc('hour', x.created_at, 'UTC'), 0, 0, 0, r.amount, x.amount_cents
                FROM refund_payees x JOIN refunds r ON r.id = x.refund_id JOIN purchases p ON p.id = r.purchase_id
               WHERE p.item_id IS NOT NULL) flows
       GROUP BY 1, 2, 3) p
    FULL JOIN item_author_hourly_rollups a
      ON a.item_id = p.item_id AND a.author_wallet_id = p.author_wallet_id AND a.bucket_start = p.bucket
   WHERE (coalesce(p.sales_count, 0), coalesce(p.gross_volume, 0), coalesce(p.royalty, 0),
          coalesce(p.refunded_volume, 0), coalesce(p.royalty_refunded, 0))
         IS DISTINCT FROM (coalesce(a.sales_count, 0), coalesce(a.gross_volume, 0), coalesce(a.royalty, 0),
                           coalesce(a.refunded_volume, 0), coalesce(a.royalty_refunded, 0))`;
  const [[hoursOff], [daysOff], [itemHoursOff]] = await Promise.all([authorRollupsOff('hour'), authorRollupsOff('day'), itemRollupsOff]);
  const toTotals = (row: Record<string, string>) => ({
    deposited: Number(row.deposited),
    withdrawn: Number(row.withdrawn),
    purchaseVolume: Number(row.purchase_volume),
    royalties: Number(row.royalties),
    platformRevenue: Number(row.platform_revenue),
    purchaseCount: Number(row.purchase_count),
    refunded: Number(row.refunded),
    royaltiesRefunded: Number(row.royalties_refunded),
    platformRevenueRefunded: Number(row.platform_revenue_refunded),
    refundCount: Number(row.refund_count),
    payoutsPaid: Number(row.payouts_paid),
    payoutsFailed: Number(row.payouts_failed),
  });
  // Every pending withdrawal is in the pending account, and each outcome moved exactly its amount
  // out of it: to the payout account when paid, to the wallet (or its debt) when failed.
  const [pending] = await sql`
    SELECT (SELECT coalesce(sum(w.amount), 0) FROM withdrawals w
             WHERE w.posted_to = 'payouts_pending'
               AND NOT EXISTS (SELECT FROM withdrawal_outcomes o WHERE o.withdrawal_id = w.id))::text AS withdrawals,
           (SELECT coalesce(sum(amount), 0) FROM ledger_entries WHERE system_account = 'payouts_pending')::text AS account`;
  const [outcomesOff] = await sql`
    SELECT ((SELECT count(*) FROM (SELECT withdrawal_id FROM withdrawal_outcomes GROUP BY 1 HAVING count(*) > 1) t)
         + (SELECT count(*) FROM withdrawal_outcomes o JOIN withdrawals w ON w.id = o.withdrawal_id
             WHERE o.amount <> w.amount OR w.posted_to <> 'payouts_pending'
                OR (SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e
                     WHERE e.transaction_id = o.id AND e.system_account = 'payouts_pending') <> -o.amount
                OR (SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e
                     WHERE e.transaction_id = o.id
                       AND (CASE o.status WHEN 'paid' THEN e.system_account = 'payout'
                                          ELSE e.wallet_id = w.wallet_id OR e.system_account = 'receivables' END))
                   <> o.amount))::int AS n`;
  const [held] = await sql`
    SELECT (SELECT coalesce(sum(amount), 0) FROM holds WHERE status = 'authorized')::text AS authorized,
           (SELECT coalesce(sum(held_balance), 0) FROM wallets)::text AS held_balances,
           (SELECT coalesce(sum(amount), 0) FROM ledger_entries WHERE system_account = 'holds')::text AS account`;
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
    authorRollupsOffSales: (hoursOff!.n as number) + (daysOff!.n as number) + (itemHoursOff!.n as number),
    refundsOffPurchase: refundsOff!.n as number,
    debt: { wallets: Number(debt!.wallets), receivables: Number(debt!.receivables) },
    pendingPayouts: { withdrawals: Number(pending!.withdrawals), account: Number(pending!.account) },
    payoutOutcomesOff: outcomesOff!.n as number,
    holds: { authorized: Number(held!.authorized), heldBalances: Number(held!.held_balances), account: Number(held!.account) },
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
  expect(books.refundsOffPurchase).toBe(0);
  expect(books.debt.wallets).toBe(books.debt.receivables);
  expect(books.pendingPayouts.account).toBe(books.pendingPayouts.withdrawals);
  expect(books.payoutOutcomesOff).toBe(0);
  expect(books.holds.heldBalances).toBe(books.holds.authorized);
  expect(books.holds.account).toBe(books.holds.authorized);
  return books;
}
