-- The feed's fence: events of transactions below it are final, nothing can commit before them (ADR 0030).
-- It is the oldest transaction the current snapshot sees in flight, skipping those known to run in
-- another database of the cluster (transaction ids are cluster-wide, and a long transaction
-- elsewhere must not hold this feed back); one that ended since the snapshot is kept, since it
-- may have been ours. Without any, the snapshot's xmax: everything below it has ended. Call it
-- in the statement that reads the events, so that both use one snapshot.
CREATE OR REPLACE FUNCTION events_feed_fence() RETURNS xid8
LANGUAGE sql STABLE AS $$
  SELECT coalesce(min(x.xid), pg_snapshot_xmax(pg_current_snapshot()))
    FROM pg_snapshot_xip(pg_current_snapshot()) AS x (xid)
   WHERE NOT EXISTS (SELECT 1 FROM pg_stat_activity a
                      WHERE a.backend_xid = xid(x.xid) AND a.datname IS DISTINCT FROM current_database())
$$;
