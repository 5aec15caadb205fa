CREATE TABLE "item_author_hourly_rollups" (
	"item_id" text NOT NULL,
	"author_wallet_id" uuid NOT NULL,
	"bucket_start" timestamp (3) with time zone NOT NULL,
	"sales_count" bigint DEFAULT 0 NOT NULL,
	"gross_volume" bigint DEFAULT 0 NOT NULL,
	"royalty" bigint DEFAULT 0 NOT NULL,
	"refunded_volume" bigint DEFAULT 0 NOT NULL,
	"royalty_refunded" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "item_author_hourly_rollups_item_id_bucket_start_author_wallet_id_pk" PRIMARY KEY("item_id","bucket_start","author_wallet_id")
);
--> statement-breakpoint
CREATE INDEX "item_author_hourly_rollups_bucket_start_idx" ON "item_author_hourly_rollups" USING btree ("bucket_start");
--> statement-breakpoint
-- Sales and refunds of items made before this migration, counted as purchase_execute_batch and refund_execute count them (ADR 0066).
INSERT INTO "item_author_hourly_rollups"
  ("item_id", "author_wallet_id", "bucket_start", "sales_count", "gross_volume", "royalty", "refunded_volume", "royalty_refunded")
SELECT item_id, author_wallet_id, date_trunc('hour', created_at, 'UTC'), sum(sales_count), sum(gross_volume), sum(royalty),
       sum(refunded_volume), sum(royalty_refunded)
  FROM (SELECT item_id, author_wallet_id, created_at, 1 AS sales_count, item_price AS gross_volume, author_amount AS royalty,
               0 AS refunded_volume, 0 AS royalty_refunded
          FROM purchases WHERE item_id IS NOT NULL AND royalty_terms_version IS NULL
        UNION ALL
        SELECT p.item_id, p.author_wallet_id, r.created_at, 0, 0, 0, r.amount, r.author_amount
          FROM refunds r JOIN purchases p ON p.id = r.purchase_id
         WHERE p.item_id IS NOT NULL AND r.royalty_terms_version IS NULL
        UNION ALL
        SELECT p.item_id, x.wallet_id, x.created_at, 1, p.item_price, x.amount_cents, 0, 0
          FROM purchase_payees x JOIN purchases p ON p.id = x.purchase_id WHERE p.item_id IS NOT NULL
        UNION ALL
        SELECT p.item_id, x.wallet_id, x.created_at, 0, 0, 0, r.amount, x.amount_cents
          FROM refund_payees x JOIN refunds r ON r.id = x.refund_id JOIN purchases p ON p.id = r.purchase_id
         WHERE p.item_id IS NOT NULL) flows
 GROUP BY 1, 2, 3;
