-- One withdrawal: debit the wallet (never below zero), post wallet -> payout, add to totals.
-- A retry with a key that already committed returns the stored withdrawal (replayed = true).
-- Raises WL001 / WL002 (see wallet_debit).
CREATE OR REPLACE FUNCTION wallet_withdraw(
  p_withdrawal_id uuid, p_user_id uuid, p_idempotency_key text, p_request_hash text,
  p_wallet_id uuid, p_amount bigint
) RETURNS TABLE (
  id uuid, replayed boolean, request_hash text, wallet_id uuid, amount bigint, created_at timestamptz
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_at timestamptz := now()::timestamptz(3);
BEGIN
  RETURN QUERY
    SELECT x.id, true, x.request_hash, x.wallet_id, x.amount, x.created_at
      FROM withdrawals x WHERE x.user_id = p_user_id AND x.idempotency_key = p_idempotency_key;
  IF FOUND THEN RETURN; END IF;

  PERFORM wallet_debit(p_wallet_id => p_wallet_id, p_user_id => p_user_id, p_amount => p_amount, p_at => v_at);

  INSERT INTO ledger_transactions (id, type, created_at) VALUES (p_withdrawal_id, 'withdrawal', v_at);
  INSERT INTO withdrawals (id, user_id, idempotency_key, request_hash, wallet_id, amount, created_at)
  VALUES (p_withdrawal_id, p_user_id, p_idempotency_key, p_request_hash, p_wallet_id, p_amount, v_at);
  INSERT INTO ledger_entries (transaction_id, wallet_id, system_account, amount, created_at)
  VALUES (p_withdrawal_id, p_wallet_id, NULL, -p_amount, v_at),
         (p_withdrawal_id, NULL, 'payout', p_amount, v_at);
  PERFORM totals_add(p_at => v_at, p_withdrawn_cents => p_amount);
  -- The outbox (ADR 0030): data is the withdrawal as toWithdrawalDto returns it.
  PERFORM events_append(
    p_type => 'withdrawal.created', p_wallet_ids => ARRAY[p_wallet_id], p_counterparty_wallet_ids => ARRAY[NULL::uuid],
    p_data => ARRAY[json_build_object('id', p_withdrawal_id, 'walletId', p_wallet_id, 'amount', p_amount,
                                      'createdAt', api_instant(v_at))],
    p_at => v_at);

  RETURN QUERY SELECT p_withdrawal_id, false, p_request_hash, p_wallet_id, p_amount, v_at;
END
$$;
