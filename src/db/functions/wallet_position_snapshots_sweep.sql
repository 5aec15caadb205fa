-- One sweep of position snapshots: counts the postings made since the last sweep up to the fence, and snapshots the wallets that reached the cadence (ADR 0068).
-- Run in READ COMMITTED, as its own transaction: each statement below then reads a newer
-- snapshot than the one before, so the ledger reads see every transaction that ended before
-- the fence was taken. The sweep row's lock makes one sweep run at a time across workers; a
-- second one returns at once (swept false). A due wallet gets a snapshot at every
-- p_min_postings-th posting since its latest one (so a first sweep of a long history leaves
-- the same spacing as the steady state), each its previous one plus the rows since
-- (wallet_position_at): the work is bounded by the cadence, not the history. What is left
-- after its last snapshot stays counted as pending.
-- p_max_snapshots and p_max_window (the longest stretch of the ledger counted per sweep) keep
-- each transaction short; the caller sweeps again while `more` says that wallets are due or the
-- fence is ahead.
CREATE OR REPLACE FUNCTION wallet_position_snapshots_sweep(p_min_postings bigint, p_max_snapshots integer, p_max_window interval)
RETURNS TABLE (swept boolean, as_of timestamptz, wallets_counted bigint, snapshots_taken integer, more boolean)
LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_swept_to timestamptz;
  v_fence timestamptz;
  v_to timestamptz;
  v_counted bigint;
  v_taken integer := 0;
  v_wallet_id uuid;
  v_from timestamptz;
  v_cut timestamptz;
  v_last timestamptz;
  v_remaining bigint;
BEGIN
  IF current_setting('transaction_isolation') <> 'read committed' THEN
    RAISE EXCEPTION 'wallet_position_snapshots_sweep needs READ COMMITTED (one snapshot per statement)';
  END IF;
  INSERT INTO wallet_position_sweep (id, swept_to) VALUES (1, '-infinity') ON CONFLICT (id) DO NOTHING;
  SELECT s.swept_to INTO v_swept_to FROM wallet_position_sweep s WHERE s.id = 1 FOR UPDATE SKIP LOCKED;
  IF NOT FOUND THEN
    RETURN QUERY SELECT false, NULL::timestamptz, 0::bigint, 0, false;
    RETURN;
  END IF;

  -- pg_stat_activity is read once per transaction and kept: read it now, after the lock.
  PERFORM pg_stat_clear_snapshot();
  v_fence := wallet_position_fence();
  IF v_swept_to = '-infinity' THEN
    -- The first sweep starts where the ledger starts.
    SELECT min(e.created_at) - interval '1 millisecond' INTO v_swept_to FROM ledger_entries e;
    v_swept_to := coalesce(v_swept_to, v_fence, '-infinity');
  END IF;
  IF v_fence IS NULL OR v_fence <= v_swept_to THEN
    RETURN QUERY SELECT true, v_swept_to, 0::bigint, 0, false;
    RETURN;
  END IF;
  v_to := least(v_fence, v_swept_to + p_max_window);

  INSERT INTO wallet_position_pending AS q (wallet_id, postings)
  SELECT e.wallet_id, count(*) FROM ledger_entries e
   WHERE e.created_at > v_swept_to AND e.created_at <= v_to AND e.wallet_id IS NOT NULL
   GROUP BY e.wallet_id
   ORDER BY e.wallet_id
  ON CONFLICT (wallet_id) DO UPDATE SET postings = q.postings + excluded.postings;
  GET DIAGNOSTICS v_counted = ROW_COUNT;
  UPDATE wallet_position_sweep s SET swept_to = v_to, updated_at = now() WHERE s.id = 1;

  FOR v_wallet_id IN
    SELECT d.wallet_id FROM wallet_position_pending d WHERE d.postings >= p_min_postings ORDER BY d.postings DESC, d.wallet_id
  LOOP
    EXIT WHEN v_taken >= p_max_snapshots;
    -- Snapshots are never past swept_to, so the latest one is where the pending count starts.
    SELECT max(s.as_of) INTO v_from FROM wallet_position_snapshots s WHERE s.wallet_id = v_wallet_id;
    v_from := coalesce(v_from, '-infinity');
    v_last := v_from;
    FOR v_cut IN
      SELECT c.created_at FROM (
        SELECT e.created_at, row_number() OVER (ORDER BY e.created_at, e.id) AS n FROM ledger_entries e
         WHERE e.wallet_id = v_wallet_id AND e.created_at > v_from AND e.created_at <= v_to) c
       WHERE c.n % p_min_postings = 0
       ORDER BY c.n
       LIMIT p_max_snapshots - v_taken
    LOOP
      INSERT INTO wallet_position_snapshots (wallet_id, as_of, balance_cents, carry_centi_cents, postings)
      SELECT v_wallet_id, v_cut, p.balance_cents, p.carry_centi_cents, p.postings
        FROM wallet_position_at(p_wallet_id => v_wallet_id, p_at => v_cut) p
      ON CONFLICT (wallet_id, as_of) DO NOTHING;
      v_taken := v_taken + 1;
      v_last := v_cut;
    END LOOP;
    SELECT count(*) INTO v_remaining FROM ledger_entries e
     WHERE e.wallet_id = v_wallet_id AND e.created_at > v_last AND e.created_at <= v_to;
    IF v_remaining = 0 THEN
      DELETE FROM wallet_position_pending q WHERE q.wallet_id = v_wallet_id;
    ELSE
      UPDATE wallet_position_pending q SET postings = v_remaining WHERE q.wallet_id = v_wallet_id;
    END IF;
  END LOOP;
  RETURN QUERY SELECT true, v_to, v_counted, v_taken,
    v_to < v_fence OR EXISTS (SELECT 1 FROM wallet_position_pending d WHERE d.postings >= p_min_postings);
END
$$;
