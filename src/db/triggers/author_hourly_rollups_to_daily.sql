-- Adds every change to an author-hour rollup to its UTC day's row, in the same transaction.
-- The purchase function and reconciliation's repairs write only hourly rows, so each day always
-- equals the sum of its hours (ADR 0021).
CREATE OR REPLACE TRIGGER author_hourly_rollups_to_daily AFTER INSERT OR UPDATE OR DELETE ON author_hourly_rollups
  FOR EACH ROW EXECUTE FUNCTION author_daily_rollups_follow_hourly();
