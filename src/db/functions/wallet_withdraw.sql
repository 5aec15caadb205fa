-- One withdrawal: a pending payout of the wallet's cents, waiting for the payment rail (ADR 0018).
-- The cents move to the payouts_pending account (pending_open) and wait there until the payment rail settles or fails them
-- (withdrawal_resolve). totalWithdrawn counts them now; a failure takes them back out.
-- A retry with a key that already committed returns the stored withdrawal (replayed = true).
-- Raises WL001 / WL002 (see wallet_debit).
CREATE OR REPLACE FUNCTION wallet_withdraw(
  p_withdrawal_id uuid, p_user_id uuid, p_idempotency_key text, p_request_hash text,
  p_wallet_id uuid, p_amount bigint, p_destination text DEFAULT NULL
) RETURNS TABLE (
  id uuid, replayed boolean, request_hash text, wallet_id uuid, amount bigint, destination text,
  created_at timestamptz
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_at timestamptz := now()::timestamptz(3);
BEGIN
  RETURN QUERY
    SELECT x.id, true, x.request_hash, x.wallet_id, x.amount, x.destination, x.created_at
      FROM withdrawals x WHERE x.user_id = p_user_id AND x.idempotency_key = p_idempotency_key;
  IF FOUND THEN RETURN; END IF;

  INSERT INTO ledger_transactions (id, type, created_at) VALUES (p_withdrawal_id, 'withdrawal', v_at);
  PERFORM pending_open(p_transaction_id => p_withdrawal_id, p_wallet_id => p_wallet_id, p_user_id => p_user_id,
                       p_pending_account => 'payouts_pending', p_amount_cents => p_amount, p_at => v_at);
  INSERT INTO withdrawals (id, user_id, idempotency_key, request_hash, wallet_id, amount, destination, posted_to,
                           created_at)
  VALUES (p_withdrawal_id, p_user_id, p_idempotency_key, p_request_hash, p_wallet_id, p_amount, p_destination,
          'payouts_pending', v_at);
  PERFORM totals_add(p_at => v_at, p_withdrawn_cents => p_amount);
  -- The outbox (ADR 0030): data is the withdrawal as toWithdrawalDto returns it.
  PERFORM events_append(
    p_type => 'withdrawal.created', p_wallet_ids => ARRAY[p_wallet_id], p_counterparty_wallet_ids => ARRAY[NULL::uuid],
    p_data => ARRAY[withdrawal_json(p_withdrawal_id)], p_at => v_at);

  RETURN QUERY SELECT p_withdrawal_id, false, p_request_hash, p_wallet_id, p_amount, p_destination, v_at;
END
$$;
