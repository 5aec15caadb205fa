-- Takes cents back from a wallet for a refund and returns how many of them became debt.
-- What the balance (row plus slots) covers is debited; the rest becomes the wallet's debt, so a
-- refund never fails because its payee already withdrew (ADR 0017). Caller holds the row lock.
CREATE OR REPLACE FUNCTION wallet_take_back(p_wallet_id uuid, p_amount_cents bigint, p_at timestamptz)
RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  v_balance_cents bigint;
  v_debt_added_cents bigint;
BEGIN
  IF p_amount_cents = 0 THEN RETURN 0; END IF;
  UPDATE wallets SET balance = balance - p_amount_cents, updated_at = p_at
   WHERE id = p_wallet_id AND balance >= p_amount_cents;
  IF FOUND THEN RETURN 0; END IF;

  PERFORM wallet_fold_slots(p_wallet_id => p_wallet_id);
  SELECT balance INTO v_balance_cents FROM wallets WHERE id = p_wallet_id;
  v_debt_added_cents := greatest(p_amount_cents - v_balance_cents, 0);
  UPDATE wallets SET balance = balance - (p_amount_cents - v_debt_added_cents),
                     debt = debt + v_debt_added_cents, updated_at = p_at
   WHERE id = p_wallet_id;
  RETURN v_debt_added_cents;
END
$$;
