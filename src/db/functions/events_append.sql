-- The outbox's one writer: appends events of one type, one row per data element, in one statement.
-- Called by each money function inside its own transaction (ADR 0030), so an event exists if and
-- only if its movement committed; a batch appends all its events with one call. p_wallet_ids
-- name whose events they are (GET /events for a user), p_counterparty_wallet_ids the other party
-- (NULL elements for none). The feed position (xid, seq) comes from the column defaults.
-- A new movement emits its event with one call, e.g. a refund:
--   PERFORM events_append(p_type => 'refund.created', p_wallet_ids => ARRAY[v_buyer_wallet_id],
--     p_counterparty_wallet_ids => ARRAY[v_author_wallet_id], p_data => ARRAY[json_build_object(...)],
--     p_at => v_at);
CREATE OR REPLACE FUNCTION events_append(
  p_type text, p_wallet_ids uuid[], p_counterparty_wallet_ids uuid[], p_data json[], p_at timestamptz
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF cardinality(p_wallet_ids) IS DISTINCT FROM cardinality(p_data)
     OR cardinality(p_counterparty_wallet_ids) IS DISTINCT FROM cardinality(p_data) THEN
    RAISE EXCEPTION 'events_append: % data elements, % wallets, % counterparties',
      cardinality(p_data), cardinality(p_wallet_ids), cardinality(p_counterparty_wallet_ids);
  END IF;
  INSERT INTO events (id, type, wallet_id, counterparty_wallet_id, data, created_at)
  SELECT gen_random_uuid(), p_type, e.wallet_id, e.counterparty_wallet_id, e.data, p_at
    FROM unnest(p_wallet_ids, p_counterparty_wallet_ids, p_data) WITH ORDINALITY
      AS e (wallet_id, counterparty_wallet_id, data, ordinal)
   ORDER BY e.ordinal;
END
$$;
