-- Turns the next committed events of the feed into deliveries for the endpoints subscribed to them.
-- One dispatcher at a time: the cursor row is locked, and a caller that finds it locked returns
-- nothing (SKIP LOCKED). Events are read in feed order (xid, seq) and only below the oldest
-- transaction still in flight (ADR 0030), so the cursor never passes an event that commits later.
-- An endpoint gets the events created from its registration on. Returns one 'event' row per
-- event read (for metrics) and one 'delivery' row per delivery made.
CREATE OR REPLACE FUNCTION webhook_dispatch(p_limit integer)
RETURNS TABLE (kind text, event_type text, event_created_at timestamptz, delivery_id uuid)
LANGUAGE plpgsql AS $$
DECLARE
  v_after_xid xid8;
  v_after_seq bigint;
  v_ids uuid[];
  v_last_xid xid8;
  v_last_seq bigint;
BEGIN
  INSERT INTO webhook_dispatch_cursor (id, after_xid, after_seq) VALUES (1, '0', 0) ON CONFLICT (id) DO NOTHING;
  SELECT c.after_xid, c.after_seq INTO v_after_xid, v_after_seq
    FROM webhook_dispatch_cursor c WHERE c.id = 1 FOR UPDATE SKIP LOCKED;
  IF NOT FOUND THEN RETURN; END IF;

  -- The fence and the read in one statement, so both see the same snapshot.
  SELECT array_agg(b.id ORDER BY b.xid, b.seq), max(b.xid)
    INTO v_ids, v_last_xid
    FROM (SELECT e.id, e.xid, e.seq FROM events e
           WHERE (e.xid, e.seq) > (v_after_xid, v_after_seq)
             AND e.xid < events_feed_fence()
           ORDER BY e.xid, e.seq LIMIT p_limit) b;
  IF v_ids IS NULL THEN RETURN; END IF;
  SELECT max(e.seq) INTO v_last_seq FROM events e WHERE e.id = ANY (v_ids) AND e.xid = v_last_xid;

  UPDATE webhook_dispatch_cursor c SET after_xid = v_last_xid, after_seq = v_last_seq, updated_at = now()
   WHERE c.id = 1;

  RETURN QUERY SELECT 'event'::text, e.type, e.created_at, NULL::uuid FROM events e WHERE e.id = ANY (v_ids);

  RETURN QUERY
    INSERT INTO webhook_deliveries AS d (id, endpoint_id, event_id, origin, status, next_attempt_at, created_at)
    SELECT gen_random_uuid(), w.id, e.id, 'feed', 'pending', now(), now()
      FROM events e JOIN webhook_endpoints w ON e.type = ANY (w.event_types) AND w.enabled AND w.created_at <= e.created_at
     WHERE e.id = ANY (v_ids)
     ORDER BY e.xid, e.seq, w.id
    ON CONFLICT (endpoint_id, event_id) WHERE origin = 'feed' DO NOTHING
    RETURNING 'delivery'::text, NULL::text, NULL::timestamptz, d.id;
END
$$;
