CREATE TABLE "reconciliation_runs" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"trigger" text NOT NULL,
	"requested_by" uuid,
	"status" text DEFAULT 'queued' NOT NULL,
	"fix_balances" boolean DEFAULT false NOT NULL,
	"checked" jsonb,
	"drifts" jsonb DEFAULT '[]'::jsonb NOT NULL,
	"drift_count" integer DEFAULT 0 NOT NULL,
	"corrected_count" integer DEFAULT 0 NOT NULL,
	"error" text,
	"created_at" timestamp (3) with time zone DEFAULT now() NOT NULL,
	"started_at" timestamp (3) with time zone,
	"finished_at" timestamp (3) with time zone,
	CONSTRAINT "reconciliation_runs_trigger" CHECK ("reconciliation_runs"."trigger" IN ('schedule', 'manual')),
	CONSTRAINT "reconciliation_runs_status" CHECK ("reconciliation_runs"."status" IN ('queued', 'running', 'completed', 'failed'))
);
--> statement-breakpoint
CREATE INDEX "reconciliation_runs_active_idx" ON "reconciliation_runs" USING btree ("created_at") WHERE "reconciliation_runs"."status" IN ('queued', 'running');