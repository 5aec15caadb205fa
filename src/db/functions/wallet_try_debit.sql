-- The one implementation of a debit: a wallet the caller owns, never below zero.
-- Says why not instead of raising: 'ok' | 'wallet_not_found' | 'insufficient_funds'. Only the
-- balance counts: a wallet in debt has none (ADR 0017). A hot wallet (the platform's) keeps part
-- of its balance in slots; when the row alone does not cover the debit, the slots are folded into
-- the row first, and the fold stays even when the debit still fails.
CREATE OR REPLACE FUNCTION wallet_try_debit(p_wallet_id uuid, p_user_id uuid, p_amount bigint, p_at timestamptz)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  v_owner uuid;
BEGIN
  UPDATE wallets SET balance = balance - p_amount, updated_at = p_at
   WHERE id = p_wallet_id AND user_id = p_user_id AND balance >= p_amount;
  IF FOUND THEN RETURN 'ok'; END IF;

  SELECT user_id INTO v_owner FROM wallets WHERE id = p_wallet_id FOR UPDATE;
  IF NOT FOUND OR v_owner <> p_user_id THEN RETURN 'wallet_not_found'; END IF;
  IF wallet_fold_slots(p_wallet_id => p_wallet_id) = 0 THEN RETURN 'insufficient_funds'; END IF;

  UPDATE wallets SET balance = balance - p_amount, updated_at = p_at
   WHERE id = p_wallet_id AND balance >= p_amount;
  IF FOUND THEN RETURN 'ok'; END IF;
  RETURN 'insufficient_funds';
END
$$;
