CREATE TABLE "wallet_position_pending" (
	"wallet_id" uuid PRIMARY KEY NOT NULL,
	"postings" bigint NOT NULL
);
--> statement-breakpoint
CREATE TABLE "wallet_position_snapshots" (
	"wallet_id" uuid NOT NULL,
	"as_of" timestamp (3) with time zone NOT NULL,
	"balance_cents" bigint NOT NULL,
	"carry_centi_cents" bigint NOT NULL,
	"postings" bigint NOT NULL,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "wallet_position_snapshots_wallet_id_as_of_pk" PRIMARY KEY("wallet_id","as_of"),
	CONSTRAINT "wallet_position_snapshots_postings_non_negative" CHECK ("wallet_position_snapshots"."postings" >= 0)
);
--> statement-breakpoint
CREATE TABLE "wallet_position_sweep" (
	"id" smallint PRIMARY KEY NOT NULL,
	"swept_to" timestamp (3) with time zone NOT NULL,
	"updated_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "wallet_position_sweep_one_row" CHECK ("wallet_position_sweep"."id" = 1)
);
--> statement-breakpoint
DROP INDEX "refund_payees_wallet_id_idx";--> statement-breakpoint
CREATE INDEX "refund_payees_wallet_id_created_at_idx" ON "refund_payees" USING btree ("wallet_id","created_at");