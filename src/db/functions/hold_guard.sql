-- Trigger function of holds_guard: a hold moves once, from authorized, and nothing else about it ever changes.
CREATE OR REPLACE FUNCTION hold_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'DELETE' OR OLD.status <> 'authorized'
     OR (NEW.id, NEW.authorization_id, NEW.user_id, NEW.idempotency_key, NEW.request_hash, NEW.buyer_wallet_id,
         NEW.author_wallet_id, NEW.amount, NEW.item_id, NEW.metadata, NEW.royalty_terms_version, NEW.expires_at, NEW.created_at)
        IS DISTINCT FROM
        (OLD.id, OLD.authorization_id, OLD.user_id, OLD.idempotency_key, OLD.request_hash, OLD.buyer_wallet_id,
         OLD.author_wallet_id, OLD.amount, OLD.item_id, OLD.metadata, OLD.royalty_terms_version, OLD.expires_at, OLD.created_at) THEN
    RAISE EXCEPTION 'holds: a hold only moves once, from authorized (% refused)', TG_OP
      USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END
$$;
