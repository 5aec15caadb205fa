-- Moves pending cents back to the wallet they came from (a failed payout): the other way out of the pending state (ADR 0018).
-- The cents are a credit like any other: they repay the wallet's debt first (wallet_credit), and
-- what repaid it posts to the receivables account (ADR 0017). Returns the cents that repaid debt.
-- The caller holds the lock of the business row that owned the pending cents, so that they are
-- released once, and has inserted the ledger transaction p_transaction_id.
CREATE OR REPLACE FUNCTION pending_release(
  p_transaction_id uuid, p_pending_account text, p_wallet_id uuid, p_amount_cents bigint, p_at timestamptz
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  v_credit record;
BEGIN
  IF p_pending_account IS NULL OR p_pending_account NOT IN ('payouts_pending', 'holds') THEN
    RAISE EXCEPTION 'pending_release: % is not a pending account', p_pending_account;
  END IF;
  v_credit := wallet_credit(p_wallet_id => p_wallet_id, p_amount_cents => p_amount_cents, p_at => p_at);
  IF v_credit.balance_cents IS NULL THEN
    RAISE EXCEPTION 'pending_release: wallet % not found', p_wallet_id;
  END IF;
  INSERT INTO ledger_entries (transaction_id, wallet_id, system_account, amount, created_at)
  SELECT p_transaction_id, leg.wallet_id, leg.system_account, leg.amount, p_at
    FROM (VALUES (NULL::uuid, p_pending_account, -p_amount_cents),
                 (p_wallet_id, NULL, p_amount_cents - v_credit.debt_repaid_cents),
                 (NULL::uuid, 'receivables', v_credit.debt_repaid_cents)) AS leg (wallet_id, system_account, amount)
   WHERE leg.amount <> 0;
  RETURN v_credit.debt_repaid_cents;
END
$$;
