-- Moves cents from a wallet into a pending system account: the one way into the pending state (ADR 0018).
-- Money in flight sits in a system account of its own (payouts_pending for withdrawals waiting for
-- the payment rail, holds for authorized purchases), so that the books stay balanced at every
-- step and the account's balance is the sum of what is pending. The debit is wallet_debit's (the caller's own wallet, never below zero;
-- raises WL001 / WL002). The caller has inserted the ledger transaction p_transaction_id; leaving
-- the pending state is pending_settle (on to its final place) or pending_release (back).
CREATE OR REPLACE FUNCTION pending_open(
  p_transaction_id uuid, p_wallet_id uuid, p_user_id uuid, p_pending_account text, p_amount_cents bigint,
  p_at timestamptz
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF p_pending_account IS NULL OR p_pending_account NOT IN ('payouts_pending', 'holds') THEN
    RAISE EXCEPTION 'pending_open: % is not a pending account', p_pending_account;
  END IF;
  PERFORM wallet_debit(p_wallet_id => p_wallet_id, p_user_id => p_user_id, p_amount => p_amount_cents, p_at => p_at);
  INSERT INTO ledger_entries (transaction_id, wallet_id, system_account, amount, created_at)
  VALUES (p_transaction_id, p_wallet_id, NULL, -p_amount_cents, p_at),
         (p_transaction_id, NULL, p_pending_account, p_amount_cents, p_at);
END
$$;
