-- Folds a hot wallet's slot credits into its row and returns how many cents moved.
-- Only where the balance is kept changes; the wallet's balance (row plus slots) stays the same.
-- Slots are locked in slot order; the caller holds the wallet row's lock.
CREATE OR REPLACE FUNCTION wallet_fold_slots(p_wallet_id uuid)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  v_folded_cents bigint;
BEGIN
  WITH held AS (
    SELECT slot, balance FROM wallet_balance_slots
     WHERE wallet_id = p_wallet_id AND balance > 0
     ORDER BY slot FOR UPDATE
  ), emptied AS (
    UPDATE wallet_balance_slots s SET balance = 0
      FROM held WHERE s.wallet_id = p_wallet_id AND s.slot = held.slot
    RETURNING held.balance
  )
  SELECT coalesce(sum(balance), 0) INTO v_folded_cents FROM emptied;
  IF v_folded_cents > 0 THEN
    UPDATE wallets SET balance = balance + v_folded_cents WHERE id = p_wallet_id;
  END IF;
  RETURN v_folded_cents;
END
$$;
