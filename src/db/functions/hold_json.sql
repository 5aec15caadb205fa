-- A hold as the API shows it: a purchase whose split has not happened yet, for its events (toHoldPurchaseDto).
CREATE OR REPLACE FUNCTION hold_json(p_hold_id uuid)
RETURNS json LANGUAGE sql STABLE AS $$
  SELECT json_build_object(
           'id', h.id, 'idempotencyKey', h.idempotency_key, 'buyerWalletId', h.buyer_wallet_id,
           'authorWalletId', h.author_wallet_id, 'itemPrice', h.amount, 'authorAmount', NULL, 'platformAmount', NULL,
           'status', h.status, 'refundedAmount', 0, 'refunds', json_build_array(), 'itemId', h.item_id,
           'metadata', h.metadata, 'royaltyTermsVersion', NULL, 'payees', json_build_array(),
           'expiresAt', api_instant(h.expires_at), 'createdAt', api_instant(h.created_at))
    FROM holds h WHERE h.id = p_hold_id
$$;
