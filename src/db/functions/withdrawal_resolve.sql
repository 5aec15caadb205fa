-- Ends a pending payout once (ADR 0018): paid (pending_settle to the payout account) or failed (pending_release back to the wallet).
-- The withdrawal row is locked first, then (for a failure) its wallet: no path locks a withdrawal
-- after a wallet, so this cannot deadlock with withdrawals, purchases or refunds (ADR 0006). Under
-- that lock, a withdrawal with an outcome (or one that went straight to `payout` before payouts
-- had a lifecycle) is not pending; the unique withdrawal_id of withdrawal_outcomes backs this up.
-- Outcome: 'resolved' | 'withdrawal_not_found' | 'not_pending'; data is the withdrawal as the API
-- shows it (after the transition when resolved, as it stands otherwise; NULL when not found).
CREATE OR REPLACE FUNCTION withdrawal_resolve(
  p_outcome_id uuid, p_withdrawal_id uuid, p_status text, p_reason text, p_resolved_by uuid
) RETURNS TABLE (outcome text, data json) LANGUAGE plpgsql AS $$
DECLARE
  v_at timestamptz := now()::timestamptz(3);
  v_withdrawal record;
BEGIN
  IF p_status IS NULL OR p_status NOT IN ('paid', 'failed') THEN
    RAISE EXCEPTION 'withdrawal_resolve: unknown status %', p_status;
  END IF;
  SELECT w.id, w.wallet_id, w.amount, w.posted_to INTO v_withdrawal
    FROM withdrawals w WHERE w.id = p_withdrawal_id FOR UPDATE;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'withdrawal_not_found'::text, NULL::json;
    RETURN;
  END IF;
  IF v_withdrawal.posted_to <> 'payouts_pending'
     OR EXISTS (SELECT FROM withdrawal_outcomes o WHERE o.withdrawal_id = p_withdrawal_id) THEN
    RETURN QUERY SELECT 'not_pending'::text, withdrawal_json(p_withdrawal_id);
    RETURN;
  END IF;

  INSERT INTO ledger_transactions (id, type, created_at)
  VALUES (p_outcome_id, CASE p_status WHEN 'paid' THEN 'withdrawal_paid' ELSE 'withdrawal_failed' END, v_at);
  INSERT INTO withdrawal_outcomes (id, withdrawal_id, status, amount, reason, resolved_by, created_at)
  VALUES (p_outcome_id, p_withdrawal_id, p_status, v_withdrawal.amount,
          CASE p_status WHEN 'failed' THEN p_reason END, p_resolved_by, v_at);
  IF p_status = 'paid' THEN
    PERFORM pending_settle(p_transaction_id => p_outcome_id, p_pending_account => 'payouts_pending',
                           p_final_account => 'payout', p_amount_cents => v_withdrawal.amount, p_at => v_at);
    PERFORM totals_add(p_at => v_at, p_payouts_paid_cents => v_withdrawal.amount);
  ELSE
    PERFORM pending_release(p_transaction_id => p_outcome_id, p_pending_account => 'payouts_pending',
                            p_wallet_id => v_withdrawal.wallet_id, p_amount_cents => v_withdrawal.amount, p_at => v_at);
    -- totalWithdrawn means money that left wallets by withdrawal: a failed payout came back.
    PERFORM totals_add(p_at => v_at, p_withdrawn_cents => -v_withdrawal.amount,
                       p_payouts_failed_cents => v_withdrawal.amount);
  END IF;
  -- The outbox (ADR 0030): data is the withdrawal as toWithdrawalDto returns it after the transition.
  PERFORM events_append(
    p_type => 'withdrawal.' || p_status, p_wallet_ids => ARRAY[v_withdrawal.wallet_id],
    p_counterparty_wallet_ids => ARRAY[NULL::uuid], p_data => ARRAY[withdrawal_json(p_withdrawal_id)], p_at => v_at);
  RETURN QUERY SELECT 'resolved'::text, withdrawal_json(p_withdrawal_id);
END
$$;
