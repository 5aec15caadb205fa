-- Authorizes a purchase: the buyer's cents move into the holds account (pending_open) until the hold is captured, voided or expires (ADR 0018).
-- The hold's id is the purchase id its capture will use. A retry with a key that already committed
-- returns the stored hold (outcome 'replayed'); otherwise 'authorized', 'self_purchase',
-- 'author_not_found', 'author_required' or 'author_not_payee'. The hold records the version of the
-- item's royalty terms in force now (0 when it has none), which its capture splits by; the
-- author is then checked as purchase_execute_batch checks an immediate purchase: with terms it may
-- be NULL or must be a payee, and no payee may be the buyer; without them it is required.
-- Raises WL001 / WL002 for a buyer wallet that is not the caller's or that
-- cannot cover the price (see wallet_debit). The buyer's held_balance grows by the price, in the
-- same update lock the debit took.
CREATE OR REPLACE FUNCTION hold_authorize(
  p_hold_id uuid, p_authorization_id uuid, p_user_id uuid, p_idempotency_key text, p_request_hash text,
  p_buyer_wallet_id uuid, p_author_wallet_id uuid, p_amount_cents bigint, p_expires_at timestamptz,
  p_item_id text DEFAULT NULL, p_metadata jsonb DEFAULT NULL
) RETURNS TABLE (outcome text, request_hash text, data json) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_at timestamptz := now()::timestamptz(3);
  v_existing record;
  v_terms_version integer := 0;
  v_payee_wallet_ids uuid[];
BEGIN
  SELECT h.id, h.request_hash INTO v_existing FROM holds h
   WHERE h.user_id = p_user_id AND h.idempotency_key = p_idempotency_key;
  IF FOUND THEN
    RETURN QUERY SELECT 'replayed'::text, v_existing.request_hash, hold_json(v_existing.id);
    RETURN;
  END IF;
  -- The terms in force now; a PUT committing meanwhile applies to later purchases, not this hold.
  IF p_item_id IS NOT NULL THEN
    SELECT t.version, t.payee_wallet_ids INTO v_terms_version, v_payee_wallet_ids FROM royalty_terms t
     WHERE t.item_id = p_item_id ORDER BY t.version DESC LIMIT 1;
    v_terms_version := coalesce(v_terms_version, 0);
  END IF;
  IF v_terms_version = 0 THEN
    IF p_author_wallet_id IS NULL THEN
      RETURN QUERY SELECT 'author_required'::text, NULL::text, NULL::json;
      RETURN;
    END IF;
    IF p_buyer_wallet_id = p_author_wallet_id THEN
      RETURN QUERY SELECT 'self_purchase'::text, NULL::text, NULL::json;
      RETURN;
    END IF;
    IF NOT EXISTS (SELECT FROM wallets w WHERE w.id = p_author_wallet_id) THEN
      RETURN QUERY SELECT 'author_not_found'::text, NULL::text, NULL::json;
      RETURN;
    END IF;
    v_payee_wallet_ids := ARRAY[p_author_wallet_id];
  ELSE
    IF p_buyer_wallet_id = ANY (v_payee_wallet_ids) THEN
      RETURN QUERY SELECT 'self_purchase'::text, NULL::text, NULL::json;
      RETURN;
    END IF;
    IF p_author_wallet_id IS NOT NULL AND NOT p_author_wallet_id = ANY (v_payee_wallet_ids) THEN
      RETURN QUERY SELECT 'author_not_payee'::text, NULL::text, NULL::json;
      RETURN;
    END IF;
  END IF;

  INSERT INTO ledger_transactions (id, type, created_at) VALUES (p_authorization_id, 'hold', v_at);
  PERFORM pending_open(p_transaction_id => p_authorization_id, p_wallet_id => p_buyer_wallet_id, p_user_id => p_user_id,
                       p_pending_account => 'holds', p_amount_cents => p_amount_cents, p_at => v_at);
  UPDATE wallets SET held_balance = held_balance + p_amount_cents WHERE id = p_buyer_wallet_id;
  INSERT INTO holds (id, authorization_id, user_id, idempotency_key, request_hash, buyer_wallet_id, author_wallet_id,
                     amount, item_id, metadata, royalty_terms_version, expires_at, created_at)
  VALUES (p_hold_id, p_authorization_id, p_user_id, p_idempotency_key, p_request_hash, p_buyer_wallet_id,
          p_author_wallet_id, p_amount_cents, p_item_id, p_metadata, v_terms_version, p_expires_at, v_at);
  -- The outbox (ADR 0030): the hold as the API returns it; the counterparty is the author it
  -- shows (the first payee with terms), as for a purchase.
  PERFORM events_append(
    p_type => 'purchase.authorized', p_wallet_ids => ARRAY[p_buyer_wallet_id],
    p_counterparty_wallet_ids => ARRAY[v_payee_wallet_ids[1]], p_data => ARRAY[hold_json(p_hold_id)], p_at => v_at);
  RETURN QUERY SELECT 'authorized'::text, p_request_hash, hold_json(p_hold_id);
END
$$;
