-- Voids a hold, or expires it once its expires_at has passed: the cents go back to the buyer (pending_release), once (ADR 0018).
-- The hold row is locked first, then the buyer's wallet: nothing locks a hold after a wallet. Under
-- the hold's lock only an 'authorized' hold moves, so a void, an expiry and a capture racing each
-- other end with exactly one winner. p_status: 'voided' (the buyer's owner or an admin, p_caller
-- NULL for the service itself) or 'expired' (only once expires_at has passed).
-- Outcome: 'released' | 'hold_not_found' | 'not_authorized' | 'not_expired'; data is the hold as
-- the API shows it (NULL when not found).
CREATE OR REPLACE FUNCTION hold_release(
  p_hold_id uuid, p_release_id uuid, p_status text, p_caller_user_id uuid, p_caller_is_admin boolean
) RETURNS TABLE (outcome text, data json) LANGUAGE plpgsql AS $$
DECLARE
  v_at timestamptz := now()::timestamptz(3);
  v_hold record;
BEGIN
  IF p_status IS NULL OR p_status NOT IN ('voided', 'expired') THEN
    RAISE EXCEPTION 'hold_release: unknown status %', p_status;
  END IF;
  SELECT h.id, h.user_id, h.buyer_wallet_id, h.amount, h.status, h.expires_at INTO v_hold
    FROM holds h WHERE h.id = p_hold_id FOR UPDATE;
  IF NOT FOUND OR NOT (p_caller_user_id IS NULL OR p_caller_is_admin OR v_hold.user_id = p_caller_user_id) THEN
    RETURN QUERY SELECT 'hold_not_found'::text, NULL::json;
    RETURN;
  END IF;
  IF v_hold.status <> 'authorized' THEN
    RETURN QUERY SELECT 'not_authorized'::text, hold_json(p_hold_id);
    RETURN;
  END IF;
  IF p_status = 'expired' AND v_hold.expires_at > v_at THEN
    RETURN QUERY SELECT 'not_expired'::text, hold_json(p_hold_id);
    RETURN;
  END IF;

  INSERT INTO ledger_transactions (id, type, created_at) VALUES (p_release_id, 'hold_release', v_at);
  PERFORM pending_release(p_transaction_id => p_release_id, p_pending_account => 'holds',
                          p_wallet_id => v_hold.buyer_wallet_id, p_amount_cents => v_hold.amount, p_at => v_at);
  UPDATE wallets SET held_balance = held_balance - v_hold.amount WHERE id = v_hold.buyer_wallet_id;
  UPDATE holds SET status = p_status, resolved_at = v_at, release_id = p_release_id WHERE id = p_hold_id;
  -- The outbox (ADR 0030): an expired hold is a voided purchase to its readers.
  PERFORM events_append(
    p_type => 'purchase.voided', p_wallet_ids => ARRAY[v_hold.buyer_wallet_id],
    p_counterparty_wallet_ids => ARRAY[NULL::uuid], p_data => ARRAY[hold_json(p_hold_id)], p_at => v_at);
  RETURN QUERY SELECT 'released'::text, hold_json(p_hold_id);
END
$$;
