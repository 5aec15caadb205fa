ALTER TABLE "holds" ALTER COLUMN "author_wallet_id" DROP NOT NULL;--> statement-breakpoint
ALTER TABLE "holds" ADD COLUMN "royalty_terms_version" integer;--> statement-breakpoint
ALTER TABLE "holds" ADD CONSTRAINT "holds_royalty_terms_version" CHECK ("holds"."royalty_terms_version" >= 0);--> statement-breakpoint
ALTER TABLE "holds" ADD CONSTRAINT "holds_author" CHECK ("holds"."author_wallet_id" IS NOT NULL OR "holds"."royalty_terms_version" >= 1);