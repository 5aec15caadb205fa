-- Trigger function of author_hourly_rollups_to_daily: replays each author-hour change on its day.
-- Every writer of the hourly rows holds the author's wallet lock (purchases) or runs alone
-- (reconciliation's repairs), so the day row adds no contention of its own.
CREATE OR REPLACE FUNCTION author_daily_rollups_follow_hourly() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Rollup updates keep their row's key: one delta then, not a removal and an addition.
  IF TG_OP = 'UPDATE' AND (NEW.author_wallet_id, NEW.bucket_start) = (OLD.author_wallet_id, OLD.bucket_start) THEN
    PERFORM author_daily_rollup_add(
      p_author_wallet_id => NEW.author_wallet_id, p_at => NEW.bucket_start,
      p_sales_count => NEW.sales_count - OLD.sales_count,
      p_gross_volume_cents => NEW.gross_volume - OLD.gross_volume,
      p_royalty_cents => NEW.royalty - OLD.royalty,
      p_refunded_volume_cents => NEW.refunded_volume - OLD.refunded_volume,
      p_royalty_refunded_cents => NEW.royalty_refunded - OLD.royalty_refunded);
    RETURN NULL;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    PERFORM author_daily_rollup_add(
      p_author_wallet_id => OLD.author_wallet_id, p_at => OLD.bucket_start, p_sales_count => -OLD.sales_count,
      p_gross_volume_cents => -OLD.gross_volume, p_royalty_cents => -OLD.royalty,
      p_refunded_volume_cents => -OLD.refunded_volume, p_royalty_refunded_cents => -OLD.royalty_refunded);
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    PERFORM author_daily_rollup_add(
      p_author_wallet_id => NEW.author_wallet_id, p_at => NEW.bucket_start, p_sales_count => NEW.sales_count,
      p_gross_volume_cents => NEW.gross_volume, p_royalty_cents => NEW.royalty,
      p_refunded_volume_cents => NEW.refunded_volume, p_royalty_refunded_cents => NEW.royalty_refunded);
  END IF;
  RETURN NULL;
END
$$;
