ALTER TABLE "deposits" ADD COLUMN "debt_repaid" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "purchases" ADD COLUMN "author_debt_repaid" bigint DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX "deposits_debt_repaid_idx" ON "deposits" USING btree ("wallet_id") WHERE "deposits"."debt_repaid" > 0;--> statement-breakpoint
CREATE INDEX "purchases_author_debt_repaid_idx" ON "purchases" USING btree ("author_wallet_id") WHERE "purchases"."author_debt_repaid" > 0;--> statement-breakpoint
ALTER TABLE "deposits" ADD CONSTRAINT "deposits_debt_repaid_range" CHECK ("deposits"."debt_repaid" BETWEEN 0 AND "deposits"."amount");--> statement-breakpoint
ALTER TABLE "purchases" ADD CONSTRAINT "purchases_author_debt_repaid_range" CHECK ("purchases"."author_debt_repaid" BETWEEN 0 AND "purchases"."author_amount");