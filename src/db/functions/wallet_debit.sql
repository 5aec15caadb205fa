-- wallet_try_debit for single operations (withdrawals), raising instead of returning.
-- WL001: wallet not found, or not the caller's; WL002: insufficient funds. The repositories map
-- both to domain errors.
CREATE OR REPLACE FUNCTION wallet_debit(p_wallet_id uuid, p_user_id uuid, p_amount bigint, p_at timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_outcome text := wallet_try_debit(p_wallet_id => p_wallet_id, p_user_id => p_user_id, p_amount => p_amount, p_at => p_at);
BEGIN
  IF v_outcome = 'wallet_not_found' THEN
    RAISE EXCEPTION 'wallet not found' USING ERRCODE = 'WL001';
  ELSIF v_outcome = 'insufficient_funds' THEN
    RAISE EXCEPTION 'insufficient funds' USING ERRCODE = 'WL002';
  END IF;
END
$$;
