CREATE TABLE "refunds" (
	"id" uuid PRIMARY KEY NOT NULL,
	"purchase_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"idempotency_key" text NOT NULL,
	"request_hash" text NOT NULL,
	"amount" bigint NOT NULL,
	"royalty_percent" smallint NOT NULL,
	"author_amount" bigint NOT NULL,
	"platform_amount" bigint NOT NULL,
	"fractional_before" smallint NOT NULL,
	"fractional_after" smallint NOT NULL,
	"author_debt" bigint NOT NULL,
	"platform_debt" bigint NOT NULL,
	"buyer_debt_repaid" bigint NOT NULL,
	"reason" text,
	"created_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "refunds_amount_range" CHECK ("refunds"."amount" BETWEEN 1 AND 1000000000),
	CONSTRAINT "refunds_split_sums_to_amount" CHECK ("refunds"."author_amount" + "refunds"."platform_amount" = "refunds"."amount"),
	CONSTRAINT "refunds_parts_non_negative" CHECK ("refunds"."author_amount" >= 0 AND "refunds"."platform_amount" >= 0),
	CONSTRAINT "refunds_debt_within_parts" CHECK ("refunds"."author_debt" BETWEEN 0 AND "refunds"."author_amount" AND "refunds"."platform_debt" BETWEEN 0 AND "refunds"."platform_amount" AND "refunds"."buyer_debt_repaid" BETWEEN 0 AND "refunds"."amount"),
	CONSTRAINT "refunds_carry_identity" CHECK (100 * "refunds"."author_amount" + "refunds"."fractional_before" = "refunds"."amount" * "refunds"."royalty_percent" + "refunds"."fractional_after"),
	CONSTRAINT "refunds_reason_length" CHECK (char_length("refunds"."reason") <= 500)
);
--> statement-breakpoint
ALTER TABLE "ledger_entries" DROP CONSTRAINT "ledger_entries_system_account";--> statement-breakpoint
ALTER TABLE "ledger_transactions" DROP CONSTRAINT "ledger_transactions_type";--> statement-breakpoint
ALTER TABLE "author_daily_rollups" ADD COLUMN "refunded_volume" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "author_daily_rollups" ADD COLUMN "royalty_refunded" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "author_hourly_rollups" ADD COLUMN "refunded_volume" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "author_hourly_rollups" ADD COLUMN "royalty_refunded" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "deposits" ADD COLUMN "debt_after" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "hourly_rollups" ADD COLUMN "refunded" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "hourly_rollups" ADD COLUMN "royalties_refunded" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "hourly_rollups" ADD COLUMN "platform_revenue_refunded" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "hourly_rollups" ADD COLUMN "refund_count" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "running_totals" ADD COLUMN "refunded" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "running_totals" ADD COLUMN "royalties_refunded" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "running_totals" ADD COLUMN "platform_revenue_refunded" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "running_totals" ADD COLUMN "refund_count" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "wallets" ADD COLUMN "debt" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "refunds" ADD CONSTRAINT "refunds_id_ledger_transactions_id_fk" FOREIGN KEY ("id") REFERENCES "public"."ledger_transactions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "refunds" ADD CONSTRAINT "refunds_purchase_id_purchases_id_fk" FOREIGN KEY ("purchase_id") REFERENCES "public"."purchases"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "refunds_user_id_idempotency_key_key" ON "refunds" USING btree ("user_id","idempotency_key");--> statement-breakpoint
CREATE INDEX "refunds_purchase_id_idx" ON "refunds" USING btree ("purchase_id");--> statement-breakpoint
CREATE INDEX "refunds_created_at_idx" ON "refunds" USING btree ("created_at");--> statement-breakpoint
ALTER TABLE "ledger_entries" ADD CONSTRAINT "ledger_entries_system_account" CHECK ("ledger_entries"."system_account" IN ('funding', 'payout', 'receivables'));--> statement-breakpoint
ALTER TABLE "ledger_transactions" ADD CONSTRAINT "ledger_transactions_type" CHECK ("ledger_transactions"."type" IN ('deposit', 'withdrawal', 'purchase', 'refund'));--> statement-breakpoint
ALTER TABLE "wallets" ADD CONSTRAINT "wallets_debt_non_negative" CHECK ("wallets"."debt" >= 0);--> statement-breakpoint
ALTER TABLE "wallets" ADD CONSTRAINT "wallets_debt_or_balance" CHECK ("wallets"."debt" = 0 OR "wallets"."balance" = 0);