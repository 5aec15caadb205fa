-- Captures a hold (all of it or a smaller amount): the purchase is paid from the held cents and the rest goes back to the buyer, in one transaction (ADR 0018).
-- The split is purchase_execute_batch's, the one implementation of a purchase, with the carry as it
-- is now and the royalty terms version the hold recorded at authorization (0: one author), so terms
-- set on the item after the authorization do not change its split; the purchase takes the hold's
-- id, and its idempotency key is the hold's ('hold:<id>'), so the client's key stays the hold's.
-- The purchase's price leaves the holds account itself (p_paid_from_holds): the cents were the
-- buyer's when authorized, so a debt the buyer ran up since does not take them. The release
-- transaction p_release_id returns only what is not captured (pending_release, a credit that
-- repays debt first) and posts nothing when all of it is. Locks: the hold row, then the buyer's,
-- author's and the recorded terms' payees' wallets in id order (ADR 0006) before the release, so
-- the batch that locks them again finds them held. Only an 'authorized' hold whose expires_at
-- has not passed is captured. Outcome: 'captured' | 'hold_not_found' | 'not_authorized' |
-- 'exceeds_hold'; a purchase refusal (a wallet gone) is raised and rolls everything back.
CREATE OR REPLACE FUNCTION hold_capture(
  p_hold_id uuid, p_release_id uuid, p_amount_cents bigint, p_caller_user_id uuid, p_caller_is_admin boolean,
  p_royalty_percent integer, p_platform_wallet_id uuid
) RETURNS TABLE (outcome text, data json) LANGUAGE plpgsql AS $$
DECLARE
  v_at timestamptz := now()::timestamptz(3);
  v_hold holds%ROWTYPE;
  v_amount_cents bigint;
  v_purchase record;
  v_payee_wallet_ids uuid[] := '{}';
BEGIN
  SELECT * INTO v_hold FROM holds h WHERE h.id = p_hold_id FOR UPDATE;
  IF NOT FOUND OR NOT (p_caller_is_admin OR v_hold.user_id = p_caller_user_id) THEN
    RETURN QUERY SELECT 'hold_not_found'::text, NULL::json;
    RETURN;
  END IF;
  IF v_hold.status <> 'authorized' OR v_hold.expires_at <= v_at THEN
    RETURN QUERY SELECT 'not_authorized'::text, hold_json(p_hold_id);
    RETURN;
  END IF;
  v_amount_cents := coalesce(p_amount_cents, v_hold.amount);
  IF v_amount_cents > v_hold.amount THEN
    RETURN QUERY SELECT 'exceeds_hold'::text, hold_json(p_hold_id);
    RETURN;
  END IF;

  IF v_hold.royalty_terms_version >= 1 THEN
    SELECT t.payee_wallet_ids INTO v_payee_wallet_ids FROM royalty_terms t
     WHERE t.item_id = v_hold.item_id AND t.version = v_hold.royalty_terms_version;
  END IF;
  PERFORM FROM wallets w WHERE w.id = ANY (ARRAY[v_hold.buyer_wallet_id, v_hold.author_wallet_id] || v_payee_wallet_ids)
   ORDER BY w.id FOR UPDATE;
  INSERT INTO ledger_transactions (id, type, created_at) VALUES (p_release_id, 'hold_release', v_at);
  IF v_hold.amount > v_amount_cents THEN
    PERFORM pending_release(p_transaction_id => p_release_id, p_pending_account => 'holds', p_wallet_id => v_hold.buyer_wallet_id,
                            p_amount_cents => v_hold.amount - v_amount_cents, p_at => v_at);
  END IF;
  UPDATE wallets SET held_balance = held_balance - v_hold.amount WHERE id = v_hold.buyer_wallet_id;
  UPDATE holds SET status = 'captured', captured_amount = v_amount_cents, resolved_at = v_at, release_id = p_release_id
   WHERE id = p_hold_id;

  SELECT b.outcome, b.id INTO v_purchase
    FROM purchase_execute_batch(
      p_purchase_ids => ARRAY[p_hold_id], p_user_ids => ARRAY[v_hold.user_id],
      p_idempotency_keys => ARRAY['hold:' || p_hold_id], p_request_hashes => ARRAY[v_hold.request_hash],
      p_buyer_wallet_ids => ARRAY[v_hold.buyer_wallet_id], p_author_wallet_ids => ARRAY[v_hold.author_wallet_id],
      p_item_prices_cents => ARRAY[v_amount_cents], p_royalty_percent => p_royalty_percent,
      p_platform_wallet_id => p_platform_wallet_id, p_item_ids => ARRAY[v_hold.item_id],
      p_metadata => ARRAY[v_hold.metadata], p_royalty_terms_versions => ARRAY[v_hold.royalty_terms_version],
      p_paid_from_holds => ARRAY[true]) b;
  IF v_purchase.outcome IS DISTINCT FROM 'completed' THEN
    RAISE EXCEPTION 'hold_capture: the purchase was refused (%)', v_purchase.outcome USING ERRCODE = 'HC001';
  END IF;
  RETURN QUERY SELECT 'captured'::text, hold_json(p_hold_id);
END
$$;
