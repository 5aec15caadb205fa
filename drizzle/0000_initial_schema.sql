CREATE TABLE "author_hourly_rollups" (
	"author_wallet_id" uuid NOT NULL,
	"bucket_start" timestamp (3) with time zone NOT NULL,
	"sales_count" bigint DEFAULT 0 NOT NULL,
	"gross_volume" bigint DEFAULT 0 NOT NULL,
	"royalty" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "author_hourly_rollups_author_wallet_id_bucket_start_pk" PRIMARY KEY("author_wallet_id","bucket_start")
);
--> statement-breakpoint
CREATE TABLE "deposits" (
	"id" uuid PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"idempotency_key" text,
	"request_hash" text NOT NULL,
	"wallet_id" uuid NOT NULL,
	"amount" bigint NOT NULL,
	"balance_after" bigint NOT NULL,
	"fractional_balance_after" integer NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "deposits_amount_range" CHECK ("deposits"."amount" BETWEEN 1 AND 1000000000)
);
--> statement-breakpoint
CREATE TABLE "financial_reports" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"requested_by" uuid NOT NULL,
	"status" text DEFAULT 'queued' NOT NULL,
	"period_from" timestamp (3) with time zone,
	"period_to" timestamp (3) with time zone,
	"result" jsonb,
	"error" text,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp (3) with time zone,
	"completed_at" timestamp (3) with time zone,
	CONSTRAINT "financial_reports_status" CHECK ("financial_reports"."status" IN ('queued', 'processing', 'completed', 'failed'))
);
--> statement-breakpoint
CREATE TABLE "hourly_rollups" (
	"bucket_start" timestamp (3) with time zone NOT NULL,
	"slot" smallint NOT NULL,
	"deposited" bigint DEFAULT 0 NOT NULL,
	"withdrawn" bigint DEFAULT 0 NOT NULL,
	"purchase_volume" bigint DEFAULT 0 NOT NULL,
	"royalties" bigint DEFAULT 0 NOT NULL,
	"platform_revenue" bigint DEFAULT 0 NOT NULL,
	"purchase_count" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "hourly_rollups_bucket_start_slot_pk" PRIMARY KEY("bucket_start","slot")
);
--> statement-breakpoint
CREATE TABLE "ledger_entries" (
	"id" bigint PRIMARY KEY GENERATED ALWAYS AS IDENTITY (sequence name "ledger_entries_id_seq" INCREMENT BY 1 MINVALUE 1 MAXVALUE 9223372036854775807 START WITH 1 CACHE 1),
	"transaction_id" uuid NOT NULL,
	"wallet_id" uuid,
	"system_account" text,
	"amount" bigint NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "ledger_entries_amount_non_zero" CHECK ("ledger_entries"."amount" <> 0),
	CONSTRAINT "ledger_entries_system_account" CHECK ("ledger_entries"."system_account" IN ('funding', 'payout')),
	CONSTRAINT "ledger_entries_one_account" CHECK (("ledger_entries"."wallet_id" IS NULL) <> ("ledger_entries"."system_account" IS NULL))
);
--> statement-breakpoint
CREATE TABLE "ledger_transactions" (
	"id" uuid PRIMARY KEY NOT NULL,
	"type" text NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "ledger_transactions_type" CHECK ("ledger_transactions"."type" IN ('deposit', 'withdrawal', 'purchase'))
);
--> statement-breakpoint
CREATE TABLE "purchases" (
	"id" uuid PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"idempotency_key" text NOT NULL,
	"request_hash" text NOT NULL,
	"buyer_wallet_id" uuid NOT NULL,
	"author_wallet_id" uuid NOT NULL,
	"item_price" bigint NOT NULL,
	"royalty_percent" smallint NOT NULL,
	"author_amount" bigint NOT NULL,
	"platform_amount" bigint NOT NULL,
	"fractional_before" smallint NOT NULL,
	"fractional_after" smallint NOT NULL,
	"status" text DEFAULT 'completed' NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "purchases_item_price_range" CHECK ("purchases"."item_price" BETWEEN 1 AND 1000000000),
	CONSTRAINT "purchases_split_sums_to_price" CHECK ("purchases"."author_amount" + "purchases"."platform_amount" = "purchases"."item_price"),
	CONSTRAINT "purchases_not_self" CHECK ("purchases"."buyer_wallet_id" <> "purchases"."author_wallet_id"),
	CONSTRAINT "purchases_carry_identity" CHECK (100 * "purchases"."author_amount" + "purchases"."fractional_after" = "purchases"."item_price" * "purchases"."royalty_percent" + "purchases"."fractional_before")
);
--> statement-breakpoint
CREATE TABLE "running_totals" (
	"slot" smallint PRIMARY KEY NOT NULL,
	"deposited" bigint DEFAULT 0 NOT NULL,
	"withdrawn" bigint DEFAULT 0 NOT NULL,
	"purchase_volume" bigint DEFAULT 0 NOT NULL,
	"royalties" bigint DEFAULT 0 NOT NULL,
	"platform_revenue" bigint DEFAULT 0 NOT NULL,
	"purchase_count" bigint DEFAULT 0 NOT NULL
);
--> statement-breakpoint
CREATE TABLE "users" (
	"id" uuid PRIMARY KEY NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "wallet_balance_slots" (
	"wallet_id" uuid NOT NULL,
	"slot" smallint NOT NULL,
	"balance" bigint DEFAULT 0 NOT NULL,
	CONSTRAINT "wallet_balance_slots_wallet_id_slot_pk" PRIMARY KEY("wallet_id","slot"),
	CONSTRAINT "wallet_balance_slots_non_negative" CHECK ("wallet_balance_slots"."balance" >= 0)
);
--> statement-breakpoint
CREATE TABLE "wallets" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"user_id" uuid NOT NULL,
	"balance" bigint DEFAULT 0 NOT NULL,
	"fractional_balance" integer DEFAULT 0 NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "wallets_balance_non_negative" CHECK ("wallets"."balance" >= 0),
	CONSTRAINT "wallets_fractional_balance_range" CHECK ("wallets"."fractional_balance" BETWEEN 0 AND 99)
);
--> statement-breakpoint
CREATE TABLE "withdrawals" (
	"id" uuid PRIMARY KEY NOT NULL,
	"user_id" uuid NOT NULL,
	"idempotency_key" text NOT NULL,
	"request_hash" text NOT NULL,
	"wallet_id" uuid NOT NULL,
	"amount" bigint NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "withdrawals_amount_range" CHECK ("withdrawals"."amount" BETWEEN 1 AND 1000000000)
);
--> statement-breakpoint
ALTER TABLE "deposits" ADD CONSTRAINT "deposits_id_ledger_transactions_id_fk" FOREIGN KEY ("id") REFERENCES "public"."ledger_transactions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "deposits" ADD CONSTRAINT "deposits_wallet_id_wallets_id_fk" FOREIGN KEY ("wallet_id") REFERENCES "public"."wallets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "ledger_entries" ADD CONSTRAINT "ledger_entries_transaction_id_ledger_transactions_id_fk" FOREIGN KEY ("transaction_id") REFERENCES "public"."ledger_transactions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "purchases" ADD CONSTRAINT "purchases_id_ledger_transactions_id_fk" FOREIGN KEY ("id") REFERENCES "public"."ledger_transactions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "purchases" ADD CONSTRAINT "purchases_buyer_wallet_id_wallets_id_fk" FOREIGN KEY ("buyer_wallet_id") REFERENCES "public"."wallets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "purchases" ADD CONSTRAINT "purchases_author_wallet_id_wallets_id_fk" FOREIGN KEY ("author_wallet_id") REFERENCES "public"."wallets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "wallets" ADD CONSTRAINT "wallets_user_id_users_id_fk" FOREIGN KEY ("user_id") REFERENCES "public"."users"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "withdrawals" ADD CONSTRAINT "withdrawals_id_ledger_transactions_id_fk" FOREIGN KEY ("id") REFERENCES "public"."ledger_transactions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "withdrawals" ADD CONSTRAINT "withdrawals_wallet_id_wallets_id_fk" FOREIGN KEY ("wallet_id") REFERENCES "public"."wallets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "author_hourly_rollups_bucket_start_idx" ON "author_hourly_rollups" USING btree ("bucket_start");--> statement-breakpoint
CREATE UNIQUE INDEX "deposits_user_id_idempotency_key_key" ON "deposits" USING btree ("user_id","idempotency_key") WHERE "deposits"."idempotency_key" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "deposits_wallet_id_idx" ON "deposits" USING btree ("wallet_id");--> statement-breakpoint
CREATE INDEX "ledger_entries_wallet_id_idx" ON "ledger_entries" USING btree ("wallet_id","id" DESC NULLS LAST) WHERE "ledger_entries"."wallet_id" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "ledger_entries_transaction_id_idx" ON "ledger_entries" USING btree ("transaction_id");--> statement-breakpoint
CREATE INDEX "ledger_entries_created_at_idx" ON "ledger_entries" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "ledger_transactions_created_at_idx" ON "ledger_transactions" USING btree ("created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "purchases_user_id_idempotency_key_key" ON "purchases" USING btree ("user_id","idempotency_key");--> statement-breakpoint
CREATE INDEX "purchases_buyer_wallet_id_idx" ON "purchases" USING btree ("buyer_wallet_id");--> statement-breakpoint
CREATE INDEX "purchases_author_wallet_id_created_at_idx" ON "purchases" USING btree ("author_wallet_id","created_at");--> statement-breakpoint
CREATE INDEX "purchases_created_at_idx" ON "purchases" USING btree ("created_at");--> statement-breakpoint
CREATE UNIQUE INDEX "wallets_user_id_key" ON "wallets" USING btree ("user_id");--> statement-breakpoint
CREATE UNIQUE INDEX "withdrawals_user_id_idempotency_key_key" ON "withdrawals" USING btree ("user_id","idempotency_key");--> statement-breakpoint
CREATE INDEX "withdrawals_wallet_id_idx" ON "withdrawals" USING btree ("wallet_id");