-- The slot (0..15) a transaction writes running totals, rollups and hot-wallet credits to.
-- One backend runs one transaction at a time, so concurrent transactions rarely share a slot and
-- never queue on one global row (ADR 0013). This is the one place the number of slots is set:
-- readers sum whatever slots exist, and nothing else assumes how many there are.
CREATE OR REPLACE FUNCTION stat_slot() RETURNS smallint LANGUAGE sql STABLE AS $$
  SELECT (pg_backend_pid() % 16)::smallint
$$;
