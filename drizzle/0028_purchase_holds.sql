CREATE TABLE "holds" (
	"id" uuid PRIMARY KEY NOT NULL,
	"authorization_id" uuid NOT NULL,
	"user_id" uuid NOT NULL,
	"idempotency_key" text NOT NULL,
	"request_hash" text NOT NULL,
	"buyer_wallet_id" uuid NOT NULL,
	"author_wallet_id" uuid NOT NULL,
	"amount" bigint NOT NULL,
	"item_id" text,
	"metadata" jsonb,
	"status" text DEFAULT 'authorized' NOT NULL,
	"captured_amount" bigint,
	"expires_at" timestamp (3) with time zone NOT NULL,
	"resolved_at" timestamp (3) with time zone,
	"release_id" uuid,
	"created_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "holds_amount_range" CHECK ("holds"."amount" BETWEEN 1 AND 1000000000),
	CONSTRAINT "holds_status" CHECK ("holds"."status" IN ('authorized', 'captured', 'voided', 'expired')),
	CONSTRAINT "holds_not_self" CHECK ("holds"."buyer_wallet_id" <> "holds"."author_wallet_id"),
	CONSTRAINT "holds_captured_amount" CHECK (("holds"."status" = 'captured') = ("holds"."captured_amount" IS NOT NULL) AND coalesce("holds"."captured_amount", 1) BETWEEN 1 AND "holds"."amount"),
	CONSTRAINT "holds_resolved" CHECK (("holds"."status" = 'authorized') = ("holds"."resolved_at" IS NULL AND "holds"."release_id" IS NULL))
);
--> statement-breakpoint
ALTER TABLE "ledger_entries" DROP CONSTRAINT "ledger_entries_system_account";--> statement-breakpoint
ALTER TABLE "ledger_transactions" DROP CONSTRAINT "ledger_transactions_type";--> statement-breakpoint
ALTER TABLE "wallets" ADD COLUMN "held_balance" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "holds" ADD CONSTRAINT "holds_authorization_id_ledger_transactions_id_fk" FOREIGN KEY ("authorization_id") REFERENCES "public"."ledger_transactions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "holds" ADD CONSTRAINT "holds_buyer_wallet_id_wallets_id_fk" FOREIGN KEY ("buyer_wallet_id") REFERENCES "public"."wallets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "holds" ADD CONSTRAINT "holds_author_wallet_id_wallets_id_fk" FOREIGN KEY ("author_wallet_id") REFERENCES "public"."wallets"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "holds_user_id_idempotency_key_key" ON "holds" USING btree ("user_id","idempotency_key");--> statement-breakpoint
CREATE INDEX "holds_authorized_expires_at_idx" ON "holds" USING btree ("expires_at") WHERE "holds"."status" = 'authorized';--> statement-breakpoint
CREATE INDEX "holds_buyer_wallet_id_idx" ON "holds" USING btree ("buyer_wallet_id");--> statement-breakpoint
-- Hand-written: the column unqualified, since the check is copied to every partition of the
-- partitioned table (ADR 0027), where "ledger_entries"."system_account" names no table.
ALTER TABLE "ledger_entries" ADD CONSTRAINT "ledger_entries_system_account" CHECK ("system_account" IN ('funding', 'payout', 'receivables', 'payouts_pending', 'holds'));--> statement-breakpoint
ALTER TABLE "ledger_transactions" ADD CONSTRAINT "ledger_transactions_type" CHECK ("ledger_transactions"."type" IN ('deposit', 'withdrawal', 'purchase', 'refund', 'withdrawal_paid', 'withdrawal_failed', 'hold', 'hold_release'));--> statement-breakpoint
ALTER TABLE "wallets" ADD CONSTRAINT "wallets_held_balance_non_negative" CHECK ("wallets"."held_balance" >= 0);