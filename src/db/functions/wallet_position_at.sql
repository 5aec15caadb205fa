-- A wallet's balance, carry and posting count for everything made at or before p_at: its latest snapshot at or before p_at plus what came after it (ADR 0068).
-- The snapshot is one probe of the primary key; what came after is wallet_position_added over
-- (as_of, p_at], bounded by the snapshot cadence rather than by the wallet's history. Without a
-- snapshot at or before p_at, the span starts at the beginning.
-- The sums run through EXECUTE, so that they are planned with the wallet and the span
-- themselves: a cached generic plan estimates a wallet's share of the ledger from the number of
-- wallets alone, and where one wallet holds most postings it scanned by time instead of by
-- wallet (620 ms for a wallet of a thousand postings beside one of a million, 2 ms planned).
CREATE OR REPLACE FUNCTION wallet_position_at(p_wallet_id uuid, p_at timestamptz)
RETURNS TABLE (balance_cents bigint, carry_centi_cents bigint, postings bigint, snapshot_as_of timestamptz)
LANGUAGE plpgsql STABLE AS $$
DECLARE
  v_as_of timestamptz;
  v_balance_cents bigint := 0;
  v_carry_centi_cents bigint := 0;
  v_postings bigint := 0;
BEGIN
  SELECT x.as_of, x.balance_cents, x.carry_centi_cents, x.postings
    INTO v_as_of, v_balance_cents, v_carry_centi_cents, v_postings
    FROM wallet_position_snapshots x
   WHERE x.wallet_id = p_wallet_id AND x.as_of <= p_at
   ORDER BY x.as_of DESC
   LIMIT 1;
  IF NOT FOUND THEN
    v_balance_cents := 0;
    v_carry_centi_cents := 0;
    v_postings := 0;
  END IF;
  RETURN QUERY EXECUTE
    'SELECT $4 + d.balance_cents, $5 + d.carry_centi_cents, $6 + d.postings, $7
       FROM wallet_position_added(p_wallet_id => $1, p_after => $2, p_at => $3) d'
    USING p_wallet_id, coalesce(v_as_of, '-infinity'::timestamptz), p_at,
          v_balance_cents, v_carry_centi_cents, v_postings, v_as_of;
END
$$;
