-- Event trigger function that refuses ALTER TABLE ... DETACH PARTITION on ledger_entries, which would take postings out of the ledger.
-- It reads the statement's text because a ddl_command_start trigger is the only point before
-- PostgreSQL acts (DETACH ... CONCURRENTLY commits its first half on its own), and the event
-- gives no parse tree to SQL. Erring on the safe side: any statement naming both is refused.
CREATE OR REPLACE FUNCTION ledger_partitions_refuse_detach() RETURNS event_trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF current_query() ~* '\mdetach\s+partition\M' AND current_query() ~* '\mledger_entries' THEN
    RAISE EXCEPTION 'ledger_entries is append-only: DETACH PARTITION is not allowed'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
END
$$;
