-- Moves pending cents on to their final system account (a payout that the rail paid): one way out of the pending state (ADR 0018).
-- The caller holds the lock of the business row that owned the pending cents (the withdrawal), so
-- that it leaves the pending state once, and has inserted the ledger transaction p_transaction_id.
CREATE OR REPLACE FUNCTION pending_settle(
  p_transaction_id uuid, p_pending_account text, p_final_account text, p_amount_cents bigint, p_at timestamptz
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF p_pending_account IS NULL OR p_pending_account NOT IN ('payouts_pending', 'holds') THEN
    RAISE EXCEPTION 'pending_settle: % is not a pending account', p_pending_account;
  END IF;
  INSERT INTO ledger_entries (transaction_id, wallet_id, system_account, amount, created_at)
  VALUES (p_transaction_id, NULL, p_pending_account, -p_amount_cents, p_at),
         (p_transaction_id, NULL, p_final_account, p_amount_cents, p_at);
END
$$;
