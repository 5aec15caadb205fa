-- A wallet's balance, carry and posting count for everything made at or before p_at: its latest snapshot at or before p_at plus what came after it (ADR 0068).
-- The snapshot is one probe of the primary key; what came after is wallet_position_added over
-- (as_of, p_at], bounded by the snapshot cadence rather than by the wallet's history. Without a
-- snapshot at or before p_at, the span starts at the beginning. PL/pgSQL only so that its body
-- is not checked against wallet_position_added at creation (the two are created together).
CREATE OR REPLACE FUNCTION wallet_position_at(p_wallet_id uuid, p_at timestamptz)
RETURNS TABLE (balance_cents bigint, carry_centi_cents bigint, postings bigint, snapshot_as_of timestamptz)
LANGUAGE plpgsql STABLE AS $$
#variable_conflict use_column
BEGIN
  RETURN QUERY
  SELECT coalesce(s.balance_cents, 0) + d.balance_cents,
         coalesce(s.carry_centi_cents, 0) + d.carry_centi_cents,
         coalesce(s.postings, 0) + d.postings,
         s.as_of
    FROM (SELECT 1) AS one
    LEFT JOIN LATERAL (
      SELECT x.as_of, x.balance_cents, x.carry_centi_cents, x.postings FROM wallet_position_snapshots x
       WHERE x.wallet_id = p_wallet_id AND x.as_of <= p_at
       ORDER BY x.as_of DESC LIMIT 1) AS s ON true
    CROSS JOIN LATERAL wallet_position_added(p_wallet_id => p_wallet_id,
                                               p_after => coalesce(s.as_of, '-infinity'), p_at => p_at) AS d;
END
$$;
