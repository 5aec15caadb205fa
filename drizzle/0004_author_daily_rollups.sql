CREATE TABLE "author_daily_rollups" (
	"author_wallet_id" uuid NOT NULL,
	"day_start" timestamp (3) with time zone NOT NULL,
	"sales_count" bigint DEFAULT 0 NOT NULL,
	"gross_volume" bigint DEFAULT 0 NOT NULL,
	"royalty" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "author_daily_rollups_author_wallet_id_day_start_pk" PRIMARY KEY("author_wallet_id","day_start")
);
--> statement-breakpoint
CREATE INDEX "author_daily_rollups_day_start_idx" ON "author_daily_rollups" USING btree ("day_start");
--> statement-breakpoint
-- Daily author rollups follow the hourly ones: every change to an author-hour row adds the
-- same change to its UTC day's row, in the same transaction. Both purchase functions and
-- reconciliation's repairs write hourly rows, so each day always equals the sum of its hours.
-- Every purchase that writes these rows holds its author's wallet lock, so the day row adds no
-- contention of its own.
CREATE FUNCTION author_daily_rollup_add(
  p_author_wallet_id uuid, p_at timestamptz, p_sales_count bigint, p_gross_volume bigint, p_royalty bigint
) RETURNS void LANGUAGE sql AS $$
  INSERT INTO author_daily_rollups AS d (author_wallet_id, day_start, sales_count, gross_volume, royalty)
  VALUES (p_author_wallet_id, date_trunc('day', p_at, 'UTC'), p_sales_count, p_gross_volume, p_royalty)
  ON CONFLICT (author_wallet_id, day_start) DO UPDATE SET
    sales_count = d.sales_count + excluded.sales_count,
    gross_volume = d.gross_volume + excluded.gross_volume,
    royalty = d.royalty + excluded.royalty;
$$;
--> statement-breakpoint
CREATE FUNCTION author_daily_rollups_follow_hourly() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  -- Rollup updates keep their row's key: one delta then, not a removal and an addition.
  IF TG_OP = 'UPDATE' AND (NEW.author_wallet_id, NEW.bucket_start) = (OLD.author_wallet_id, OLD.bucket_start) THEN
    PERFORM author_daily_rollup_add(NEW.author_wallet_id, NEW.bucket_start, NEW.sales_count - OLD.sales_count,
                                    NEW.gross_volume - OLD.gross_volume, NEW.royalty - OLD.royalty);
    RETURN NULL;
  END IF;
  IF TG_OP IN ('UPDATE', 'DELETE') THEN
    PERFORM author_daily_rollup_add(OLD.author_wallet_id, OLD.bucket_start, -OLD.sales_count, -OLD.gross_volume, -OLD.royalty);
  END IF;
  IF TG_OP IN ('INSERT', 'UPDATE') THEN
    PERFORM author_daily_rollup_add(NEW.author_wallet_id, NEW.bucket_start, NEW.sales_count, NEW.gross_volume, NEW.royalty);
  END IF;
  RETURN NULL;
END
$$;
--> statement-breakpoint
-- Creating the trigger locks out writers of the hourly rows until this migration commits, so
-- the backfill below and the trigger together count every hour exactly once.
CREATE TRIGGER author_hourly_rollups_to_daily
AFTER INSERT OR UPDATE OR DELETE ON author_hourly_rollups
FOR EACH ROW EXECUTE FUNCTION author_daily_rollups_follow_hourly();
--> statement-breakpoint
INSERT INTO author_daily_rollups (author_wallet_id, day_start, sales_count, gross_volume, royalty)
SELECT author_wallet_id, date_trunc('day', bucket_start, 'UTC'), sum(sales_count), sum(gross_volume), sum(royalty)
  FROM author_hourly_rollups
 GROUP BY 1, 2;
