-- Divides an author side of centi-cents among payees by basis-point shares: largest remainder, ties to the earlier payee.
-- The one split rule (ADR 0045), used by purchases, refunds and captures alike; it must match
-- splitAmongPayees in src/purchases/royalty-split.ts (test/integration/royalty-parts.spec.ts
-- compares them). Each payee gets floor(total * share / 10000); the centi-cents those floors
-- leave (fewer than the number of payees) go one each to the payees with the largest remainders.
-- The parts always add up to p_total_centi_cents. PL/pgSQL: it runs once per split item, and a
-- LANGUAGE sql function with a query would be planned again on every call.
CREATE OR REPLACE FUNCTION royalty_parts(p_total_centi_cents bigint, p_shares_bps integer[])
RETURNS bigint[] LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE AS $$
DECLARE
  v_count integer := cardinality(p_shares_bps);
  v_parts bigint[] := '{}';
  v_remainders bigint[] := '{}';
  v_left_over bigint := p_total_centi_cents;
  v_best integer;
BEGIN
  FOR j IN 1 .. v_count LOOP
    v_parts := v_parts || (p_total_centi_cents * p_shares_bps[j] / 10000);
    v_remainders := v_remainders || (p_total_centi_cents * p_shares_bps[j] % 10000);
    v_left_over := v_left_over - v_parts[j];
  END LOOP;
  -- Each left-over centi-cent goes to the largest remainder not yet served; a strict comparison
  -- keeps the earlier payee on a tie.
  FOR k IN 1 .. v_left_over LOOP
    v_best := NULL;
    FOR j IN 1 .. v_count LOOP
      IF v_remainders[j] >= 0 AND (v_best IS NULL OR v_remainders[j] > v_remainders[v_best]) THEN
        v_best := j;
      END IF;
    END LOOP;
    v_parts[v_best] := v_parts[v_best] + 1;
    v_remainders[v_best] := -1;
  END LOOP;
  RETURN v_parts;
END
$$;
