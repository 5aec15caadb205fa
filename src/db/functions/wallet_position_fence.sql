-- The latest instant a position snapshot may be taken at: no transaction that can still commit has stamped anything at or before it (ADR 0068).
-- A money transaction stamps its rows with now(), its start, rounded to the millisecond
-- (timestamptz(3) rounds half up), and commits later: rows stamped before the start of the
-- oldest transaction still open in this database may yet appear. So the fence is that start,
-- truncated to the millisecond, minus one millisecond (a start s stamps at least s - 0.5 ms).
-- A transaction becomes visible in pg_stat_activity a few microseconds after its start
-- timestamp is taken; the fence also stays a second behind this statement's start to cover that.
-- NULL when some session of this database is hidden from the caller (no pg_read_all_stats and
-- another role): its transaction could not be seen, so no instant is known to be safe.
-- Read it in a statement of its own, before the statement that reads the ledger up to it: a
-- transaction that ends between the two is then in the ledger read's snapshot.
CREATE OR REPLACE FUNCTION wallet_position_fence() RETURNS timestamptz
LANGUAGE sql VOLATILE AS $$
  SELECT CASE WHEN bool_or(a.query = '<insufficient privilege>') THEN NULL
              ELSE date_trunc('milliseconds', least(min(a.xact_start) FILTER (WHERE a.backend_type IN ('client backend', 'background worker')),
                                                  statement_timestamp() - interval '1 second'))
                   - interval '1 millisecond'
         END
    FROM pg_stat_activity a
   WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()
$$;
