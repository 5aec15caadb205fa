-- Event trigger function that refuses to drop ledger_entries or any of its partitions.
CREATE OR REPLACE FUNCTION ledger_partitions_refuse_drop() RETURNS event_trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_event_trigger_dropped_objects() o
              WHERE o.object_type = 'table' AND o.schema_name = 'public'
                AND (o.object_name = 'ledger_entries' OR o.object_name LIKE 'ledger\_entries\_%')) THEN
    RAISE EXCEPTION 'ledger_entries is append-only: dropping it or a partition is not allowed'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
END
$$;
