-- The one implementation of a debit: a wallet the caller owns, never below zero.
-- Says why not instead of raising: 'ok' | 'wallet_not_found' | 'insufficient_funds'.
-- A hot wallet (the platform's) keeps part of its balance in slots; when the row alone does not
-- cover the debit, the slots are folded into the row first. The fold only changes where the
-- balance is kept, so it stays even when the debit still fails (the row gets the slots' sum).
CREATE OR REPLACE FUNCTION wallet_try_debit(p_wallet_id uuid, p_user_id uuid, p_amount bigint, p_at timestamptz)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  v_owner uuid;
  v_folded bigint;
BEGIN
  UPDATE wallets SET balance = balance - p_amount, updated_at = p_at
   WHERE id = p_wallet_id AND user_id = p_user_id AND balance >= p_amount;
  IF FOUND THEN RETURN 'ok'; END IF;

  SELECT user_id INTO v_owner FROM wallets WHERE id = p_wallet_id FOR UPDATE;
  IF NOT FOUND OR v_owner <> p_user_id THEN RETURN 'wallet_not_found'; END IF;

  WITH held AS (
    SELECT slot, balance FROM wallet_balance_slots
     WHERE wallet_id = p_wallet_id AND balance > 0
     ORDER BY slot FOR UPDATE
  ), emptied AS (
    UPDATE wallet_balance_slots s SET balance = 0
      FROM held WHERE s.wallet_id = p_wallet_id AND s.slot = held.slot
    RETURNING held.balance
  )
  SELECT coalesce(sum(balance), 0) INTO v_folded FROM emptied;
  IF v_folded = 0 THEN RETURN 'insufficient_funds'; END IF;

  UPDATE wallets SET balance = balance + v_folded - p_amount, updated_at = p_at
   WHERE id = p_wallet_id AND balance + v_folded >= p_amount;
  IF FOUND THEN RETURN 'ok'; END IF;
  UPDATE wallets SET balance = balance + v_folded WHERE id = p_wallet_id;
  RETURN 'insufficient_funds';
END
$$;
