-- A hold as the API shows it: a purchase whose split has not happened yet, for its events (toHoldPurchaseDto).
CREATE OR REPLACE FUNCTION hold_json(p_hold_id uuid)
RETURNS json LANGUAGE sql STABLE AS $$
  SELECT json_build_object(
           'id', h.id, 'idempotencyKey', h.idempotency_key, 'buyerWalletId', h.buyer_wallet_id,
           'authorWalletId', coalesce(t.payee_wallet_ids[1], h.author_wallet_id), 'itemPrice', h.amount, 'authorAmount', NULL, 'platformAmount', NULL,
           'status', h.status, 'refundedAmount', 0, 'refunds', json_build_array(), 'itemId', h.item_id,
           'metadata', h.metadata, 'royaltyTermsVersion', t.version, 'payees', json_build_array(),
           'expiresAt', api_instant(h.expires_at), 'createdAt', api_instant(h.created_at))
    -- A hold of an item with terms shows the version its capture will split by, and names the
    -- first payee as the author, as its purchase will.
    FROM holds h LEFT JOIN royalty_terms t ON t.item_id = h.item_id AND t.version = h.royalty_terms_version
   WHERE h.id = p_hold_id
$$;
