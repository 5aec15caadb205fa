-- What a wallet's postings and royalty rows made in (p_after, p_at] add to its balance, carry and posting count (ADR 0068).
-- The balance is the sum of the wallet's postings, the carry what the royalty identity leaves:
-- Σ parts − 100 · Σ royalty cents over the one-author purchases and refunds and the payee parts
-- (ADR 0045, 0046). Both are sums, so they add up across consecutive spans exactly, whatever the
-- order of the rows within one instant. Each part is an index range scan on (wallet,
-- created_at): its cost follows the rows in the span, not the wallet's history. One-author
-- refunds do not name the author, so they are the span's refunds of all wallets joined to their
-- purchase (or the author's purchases joined to their refunds, whichever the planner finds fewer).
CREATE OR REPLACE FUNCTION wallet_position_added(p_wallet_id uuid, p_after timestamptz, p_at timestamptz)
RETURNS TABLE (balance_cents bigint, carry_centi_cents bigint, postings bigint)
LANGUAGE sql STABLE AS $$
  SELECT l.balance_cents, r.carry_centi_cents, l.postings
    FROM (SELECT coalesce(sum(e.amount), 0)::bigint AS balance_cents, count(*) AS postings FROM ledger_entries e
           WHERE e.wallet_id = p_wallet_id AND e.created_at > p_after AND e.created_at <= p_at) AS l,
         (SELECT coalesce(sum(f.part_centi_cents) - 100 * sum(f.amount_cents), 0)::bigint AS carry_centi_cents FROM (
            SELECT p.item_price * p.royalty_percent, p.author_amount FROM purchases p
             WHERE p.author_wallet_id = p_wallet_id AND p.royalty_terms_version IS NULL
               AND p.created_at > p_after AND p.created_at <= p_at
            UNION ALL
            SELECT -r.amount * r.royalty_percent, -r.author_amount FROM refunds r JOIN purchases p ON p.id = r.purchase_id
             WHERE p.author_wallet_id = p_wallet_id AND r.royalty_terms_version IS NULL
               AND r.created_at > p_after AND r.created_at <= p_at
            UNION ALL
            SELECT x.part_centi_cents, x.amount_cents FROM purchase_payees x
             WHERE x.wallet_id = p_wallet_id AND x.created_at > p_after AND x.created_at <= p_at
            UNION ALL
            SELECT -x.part_centi_cents, -x.amount_cents FROM refund_payees x
             WHERE x.wallet_id = p_wallet_id AND x.created_at > p_after AND x.created_at <= p_at
          ) AS f (part_centi_cents, amount_cents)) AS r
$$;
