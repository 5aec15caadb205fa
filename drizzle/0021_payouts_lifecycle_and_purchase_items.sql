CREATE TABLE "payout_destinations" (
	"wallet_id" uuid PRIMARY KEY NOT NULL,
	"destination" text NOT NULL,
	"updated_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "payout_destinations_destination_length" CHECK (char_length("payout_destinations"."destination") BETWEEN 1 AND 200)
);
--> statement-breakpoint
CREATE TABLE "payout_runs" (
	"id" uuid PRIMARY KEY NOT NULL,
	"requested_by" uuid NOT NULL,
	"idempotency_key" text NOT NULL,
	"minimum" bigint NOT NULL,
	"payout_count" integer DEFAULT 0 NOT NULL,
	"total" bigint DEFAULT 0 NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	"completed_at" timestamp (3) with time zone,
	CONSTRAINT "payout_runs_minimum_positive" CHECK ("payout_runs"."minimum" >= 1)
);
--> statement-breakpoint
CREATE TABLE "withdrawal_outcomes" (
	"id" uuid PRIMARY KEY NOT NULL,
	"withdrawal_id" uuid NOT NULL,
	"status" text NOT NULL,
	"amount" bigint NOT NULL,
	"reason" text,
	"resolved_by" uuid NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "withdrawal_outcomes_status" CHECK ("withdrawal_outcomes"."status" IN ('paid', 'failed')),
	CONSTRAINT "withdrawal_outcomes_amount_range" CHECK ("withdrawal_outcomes"."amount" BETWEEN 1 AND 1000000000),
	CONSTRAINT "withdrawal_outcomes_reason_length" CHECK (char_length("withdrawal_outcomes"."reason") BETWEEN 1 AND 500),
	CONSTRAINT "withdrawal_outcomes_reason_when_failed" CHECK (("withdrawal_outcomes"."status" = 'failed') = ("withdrawal_outcomes"."reason" IS NOT NULL))
);
--> statement-breakpoint
ALTER TABLE "ledger_entries" DROP CONSTRAINT "ledger_entries_system_account";--> statement-breakpoint
ALTER TABLE "ledger_transactions" DROP CONSTRAINT "ledger_transactions_type";--> statement-breakpoint
DROP INDEX "purchases_buyer_wallet_id_idx";--> statement-breakpoint
DROP INDEX "purchases_author_wallet_id_created_at_idx";--> statement-breakpoint
DROP INDEX "withdrawals_wallet_id_idx";--> statement-breakpoint
ALTER TABLE "hourly_rollups" ADD COLUMN "payouts_paid" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "hourly_rollups" ADD COLUMN "payouts_failed" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "purchases" ADD COLUMN "item_id" text;--> statement-breakpoint
ALTER TABLE "purchases" ADD COLUMN "metadata" jsonb;--> statement-breakpoint
ALTER TABLE "running_totals" ADD COLUMN "payouts_paid" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "running_totals" ADD COLUMN "payouts_failed" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "withdrawals" ADD COLUMN "destination" text;--> statement-breakpoint
ALTER TABLE "withdrawals" ADD COLUMN "posted_to" text DEFAULT 'payout' NOT NULL;--> statement-breakpoint
ALTER TABLE "payout_destinations" ADD CONSTRAINT "payout_destinations_wallet_id_wallets_id_fk" FOREIGN KEY ("wallet_id") REFERENCES "public"."wallets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "withdrawal_outcomes" ADD CONSTRAINT "withdrawal_outcomes_id_ledger_transactions_id_fk" FOREIGN KEY ("id") REFERENCES "public"."ledger_transactions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "withdrawal_outcomes" ADD CONSTRAINT "withdrawal_outcomes_withdrawal_id_withdrawals_id_fk" FOREIGN KEY ("withdrawal_id") REFERENCES "public"."withdrawals"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "payout_runs_requested_by_idempotency_key_key" ON "payout_runs" USING btree ("requested_by","idempotency_key");--> statement-breakpoint
CREATE UNIQUE INDEX "withdrawal_outcomes_withdrawal_id_key" ON "withdrawal_outcomes" USING btree ("withdrawal_id");--> statement-breakpoint
CREATE INDEX "withdrawal_outcomes_created_at_idx" ON "withdrawal_outcomes" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "purchases_buyer_wallet_id_created_at_id_idx" ON "purchases" USING btree ("buyer_wallet_id","created_at","id");--> statement-breakpoint
CREATE INDEX "purchases_author_wallet_id_created_at_id_idx" ON "purchases" USING btree ("author_wallet_id","created_at","id");--> statement-breakpoint
CREATE INDEX "purchases_item_id_created_at_id_idx" ON "purchases" USING btree ("item_id","created_at","id") WHERE "purchases"."item_id" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "withdrawals_wallet_id_created_at_id_idx" ON "withdrawals" USING btree ("wallet_id","created_at","id");--> statement-breakpoint
ALTER TABLE "ledger_entries" ADD CONSTRAINT "ledger_entries_system_account" CHECK ("ledger_entries"."system_account" IN ('funding', 'payout', 'receivables', 'payouts_pending'));--> statement-breakpoint
ALTER TABLE "ledger_transactions" ADD CONSTRAINT "ledger_transactions_type" CHECK ("ledger_transactions"."type" IN ('deposit', 'withdrawal', 'purchase', 'refund', 'withdrawal_paid', 'withdrawal_failed'));--> statement-breakpoint
ALTER TABLE "purchases" ADD CONSTRAINT "purchases_item_id_format" CHECK ("purchases"."item_id" ~ '^[A-Za-z0-9_.:/-]{1,200}$');--> statement-breakpoint
ALTER TABLE "purchases" ADD CONSTRAINT "purchases_metadata_object" CHECK (jsonb_typeof("purchases"."metadata") = 'object');--> statement-breakpoint
ALTER TABLE "withdrawals" ADD CONSTRAINT "withdrawals_destination_length" CHECK (char_length("withdrawals"."destination") BETWEEN 1 AND 200);--> statement-breakpoint
ALTER TABLE "withdrawals" ADD CONSTRAINT "withdrawals_posted_to" CHECK ("withdrawals"."posted_to" IN ('payout', 'payouts_pending'));