CREATE TABLE "purchase_payees" (
	"purchase_id" uuid NOT NULL,
	"position" smallint NOT NULL,
	"wallet_id" uuid NOT NULL,
	"share_bps" integer NOT NULL,
	"part_centi_cents" bigint NOT NULL,
	"amount_cents" bigint NOT NULL,
	"carry_before_centi_cents" smallint NOT NULL,
	"carry_after_centi_cents" smallint NOT NULL,
	"debt_repaid_cents" bigint NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "purchase_payees_purchase_id_position_pk" PRIMARY KEY("purchase_id","position"),
	CONSTRAINT "purchase_payees_position_range" CHECK ("purchase_payees"."position" BETWEEN 1 AND 10),
	CONSTRAINT "purchase_payees_share_range" CHECK ("purchase_payees"."share_bps" BETWEEN 1 AND 10000),
	CONSTRAINT "purchase_payees_part_non_negative" CHECK ("purchase_payees"."part_centi_cents" >= 0),
	CONSTRAINT "purchase_payees_carry_identity" CHECK (100 * "purchase_payees"."amount_cents" + "purchase_payees"."carry_after_centi_cents" = "purchase_payees"."part_centi_cents" + "purchase_payees"."carry_before_centi_cents"),
	CONSTRAINT "purchase_payees_carry_range" CHECK ("purchase_payees"."carry_before_centi_cents" BETWEEN 0 AND 99 AND "purchase_payees"."carry_after_centi_cents" BETWEEN 0 AND 99),
	CONSTRAINT "purchase_payees_debt_repaid_range" CHECK ("purchase_payees"."debt_repaid_cents" BETWEEN 0 AND "purchase_payees"."amount_cents")
);
--> statement-breakpoint
CREATE TABLE "refund_payees" (
	"refund_id" uuid NOT NULL,
	"position" smallint NOT NULL,
	"wallet_id" uuid NOT NULL,
	"part_centi_cents" bigint NOT NULL,
	"amount_cents" bigint NOT NULL,
	"carry_before_centi_cents" smallint NOT NULL,
	"carry_after_centi_cents" smallint NOT NULL,
	"debt_cents" bigint NOT NULL,
	"debt_repaid_cents" bigint NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "refund_payees_refund_id_position_pk" PRIMARY KEY("refund_id","position"),
	CONSTRAINT "refund_payees_carry_identity" CHECK (100 * "refund_payees"."amount_cents" + "refund_payees"."carry_before_centi_cents" = "refund_payees"."part_centi_cents" + "refund_payees"."carry_after_centi_cents"),
	CONSTRAINT "refund_payees_carry_range" CHECK ("refund_payees"."carry_before_centi_cents" BETWEEN 0 AND 99 AND "refund_payees"."carry_after_centi_cents" BETWEEN 0 AND 99),
	CONSTRAINT "refund_payees_debt_range" CHECK ("refund_payees"."debt_cents" BETWEEN 0 AND greatest("refund_payees"."amount_cents", 0)),
	CONSTRAINT "refund_payees_debt_repaid_range" CHECK ("refund_payees"."debt_repaid_cents" BETWEEN 0 AND greatest(-"refund_payees"."amount_cents", 0))
);
--> statement-breakpoint
CREATE TABLE "royalty_terms" (
	"item_id" text NOT NULL,
	"version" integer NOT NULL,
	"royalty_percent" smallint NOT NULL,
	"payee_wallet_ids" uuid[] NOT NULL,
	"payee_shares_bps" integer[] NOT NULL,
	"created_by" uuid NOT NULL,
	"created_at" timestamp (3) with time zone NOT NULL,
	CONSTRAINT "royalty_terms_item_id_version_pk" PRIMARY KEY("item_id","version"),
	CONSTRAINT "royalty_terms_version_positive" CHECK ("royalty_terms"."version" >= 1),
	CONSTRAINT "royalty_terms_item_id_format" CHECK ("royalty_terms"."item_id" ~ '^[A-Za-z0-9_.:/-]{1,200}$'),
	CONSTRAINT "royalty_terms_percent_range" CHECK ("royalty_terms"."royalty_percent" BETWEEN 0 AND 100),
	CONSTRAINT "royalty_terms_payee_count" CHECK (cardinality("royalty_terms"."payee_wallet_ids") BETWEEN 1 AND 10 AND cardinality("royalty_terms"."payee_shares_bps") = cardinality("royalty_terms"."payee_wallet_ids")),
	CONSTRAINT "royalty_terms_share_range" CHECK (1 <= ALL ("royalty_terms"."payee_shares_bps") AND 10000 >= ALL ("royalty_terms"."payee_shares_bps")),
	CONSTRAINT "royalty_terms_shares_sum" CHECK (coalesce(payee_shares_bps[1], 0) + coalesce(payee_shares_bps[2], 0) + coalesce(payee_shares_bps[3], 0) + coalesce(payee_shares_bps[4], 0) + coalesce(payee_shares_bps[5], 0) + coalesce(payee_shares_bps[6], 0) + coalesce(payee_shares_bps[7], 0) + coalesce(payee_shares_bps[8], 0) + coalesce(payee_shares_bps[9], 0) + coalesce(payee_shares_bps[10], 0) = 10000)
);
--> statement-breakpoint
ALTER TABLE "refunds" DROP CONSTRAINT "refunds_parts_non_negative";--> statement-breakpoint
ALTER TABLE "refunds" DROP CONSTRAINT "refunds_debt_within_parts";--> statement-breakpoint
ALTER TABLE "purchases" ADD COLUMN "royalty_terms_version" integer;--> statement-breakpoint
ALTER TABLE "refunds" ADD COLUMN "royalty_terms_version" integer;--> statement-breakpoint
ALTER TABLE "purchase_payees" ADD CONSTRAINT "purchase_payees_purchase_id_purchases_id_fk" FOREIGN KEY ("purchase_id") REFERENCES "public"."purchases"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "refund_payees" ADD CONSTRAINT "refund_payees_refund_id_refunds_id_fk" FOREIGN KEY ("refund_id") REFERENCES "public"."refunds"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "purchase_payees_wallet_id_created_at_idx" ON "purchase_payees" USING btree ("wallet_id","created_at","purchase_id");--> statement-breakpoint
CREATE INDEX "refund_payees_wallet_id_idx" ON "refund_payees" USING btree ("wallet_id");--> statement-breakpoint
ALTER TABLE "refunds" ADD CONSTRAINT "refunds_parts_non_negative" CHECK ("refunds"."royalty_terms_version" IS NOT NULL OR ("refunds"."author_amount" >= 0 AND "refunds"."platform_amount" >= 0));--> statement-breakpoint
ALTER TABLE "refunds" ADD CONSTRAINT "refunds_debt_within_parts" CHECK ("refunds"."author_debt" >= 0 AND ("refunds"."royalty_terms_version" IS NOT NULL OR "refunds"."author_debt" <= "refunds"."author_amount") AND "refunds"."platform_debt" BETWEEN 0 AND greatest("refunds"."platform_amount", 0) AND "refunds"."buyer_debt_repaid" BETWEEN 0 AND "refunds"."amount");