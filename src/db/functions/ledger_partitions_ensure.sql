-- Creates the monthly partitions of ledger_entries from this month to p_months_ahead months ahead, and returns how many it created.
-- Each month is built beside the table and then attached, which takes only a SHARE UPDATE
-- EXCLUSIVE lock on ledger_entries, so purchases keep posting meanwhile; lock_timeout bounds the
-- wait behind a long reader, and the service simply tries again on its next pass (ADR 0027).
-- A month already covered (by its partition or by the history from before partitioning) is
-- skipped. Every partition gets its own TRUNCATE trigger: PostgreSQL clones row triggers to
-- partitions, not statement triggers.
CREATE OR REPLACE FUNCTION ledger_partitions_ensure(p_months_ahead integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  v_from timestamptz;
  v_to timestamptz;
  v_name text;
  v_created integer := 0;
BEGIN
  IF p_months_ahead IS NULL OR p_months_ahead NOT BETWEEN 0 AND 24 THEN
    RAISE EXCEPTION 'p_months_ahead must be between 0 and 24, not %', p_months_ahead
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  PERFORM set_config('lock_timeout', '2s', true);
  FOR v_month IN 0..p_months_ahead LOOP
    v_from := date_trunc('month', now(), 'UTC') + make_interval(months => v_month);
    v_to := date_trunc('month', v_from + interval '32 days', 'UTC');
    v_name := 'ledger_entries_' || to_char(v_from AT TIME ZONE 'UTC', '"y"YYYY"m"MM');
    CONTINUE WHEN to_regclass(format('public.%I', v_name)) IS NOT NULL;
    -- A month the history partition already covers routes there.
    CONTINUE WHEN EXISTS (
      SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = 'public.ledger_entries'::regclass
         AND c.relname = 'ledger_entries_unpartitioned'
         AND v_from < (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz);
    EXECUTE format('CREATE TABLE public.%I (LIKE public.ledger_entries INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', v_name);
    EXECUTE format('ALTER TABLE public.ledger_entries ATTACH PARTITION public.%I FOR VALUES FROM (%L) TO (%L)',
                   v_name, v_from, v_to);
    EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON public.%I FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_mutation()',
                   v_name || '_no_truncate', v_name);
    v_created := v_created + 1;
  END LOOP;
  RETURN v_created;
END
$$;
