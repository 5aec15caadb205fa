-- Divides an author side of centi-cents among payees by basis-point shares: largest remainder, ties to the earlier payee.
-- The one split rule (ADR 0045), used by purchases, refunds and captures alike; it must match
-- splitAmongPayees in src/purchases/royalty-split.ts. Each payee gets floor(total * share / 10000)
-- and the centi-cents those floors leave (fewer than the number of payees) go one each to the
-- payees with the largest remainders. The parts always add up to p_total_centi_cents.
CREATE OR REPLACE FUNCTION royalty_parts(p_total_centi_cents bigint, p_shares_bps integer[])
RETURNS bigint[] LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
  WITH quotas AS (
    SELECT s.position, p_total_centi_cents * s.share_bps / 10000 AS floor_part,
           p_total_centi_cents * s.share_bps % 10000 AS remainder
      FROM unnest(p_shares_bps) WITH ORDINALITY AS s (share_bps, position)
  ), ranked AS (
    SELECT q.position, q.floor_part,
           row_number() OVER (ORDER BY q.remainder DESC, q.position) AS rank,
           p_total_centi_cents - sum(q.floor_part) OVER () AS left_over
      FROM quotas q
  )
  SELECT array_agg(r.floor_part + CASE WHEN r.rank <= r.left_over THEN 1 ELSE 0 END ORDER BY r.position)
    FROM ranked r
$$;
