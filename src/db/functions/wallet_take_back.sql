-- Takes cents back from a wallet for a refund and returns how many of them became debt.
-- What the balance (row plus slots) covers is debited; the rest becomes the wallet's debt, so a
-- refund never fails because its payee already withdrew (ADR 0017). A hot wallet (the platform's)
-- pays from this connection's slot when that slot covers it, taking no lock on its row: refunds
-- then never queue on the platform. Otherwise the row is locked here (the caller locks the
-- other wallets it moves, in id order, before it calls this).
CREATE OR REPLACE FUNCTION wallet_take_back(p_wallet_id uuid, p_amount_cents bigint, p_at timestamptz)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  v_balance_cents bigint;
  v_debt_added_cents bigint;
BEGIN
  IF p_amount_cents = 0 THEN RETURN 0; END IF;
  UPDATE wallet_balance_slots SET balance = balance - p_amount_cents
   WHERE wallet_id = p_wallet_id AND slot = stat_slot() AND balance >= p_amount_cents;
  IF FOUND THEN RETURN 0; END IF;

  SELECT balance INTO v_balance_cents FROM wallets WHERE id = p_wallet_id FOR UPDATE;
  IF v_balance_cents < p_amount_cents THEN
    PERFORM wallet_fold_slots(p_wallet_id => p_wallet_id);
    SELECT balance INTO v_balance_cents FROM wallets WHERE id = p_wallet_id;
  END IF;
  v_debt_added_cents := greatest(p_amount_cents - v_balance_cents, 0);
  UPDATE wallets SET balance = balance - (p_amount_cents - v_debt_added_cents),
                     debt = debt + v_debt_added_cents, updated_at = p_at
   WHERE id = p_wallet_id;
  RETURN v_debt_added_cents;
END
$$;
