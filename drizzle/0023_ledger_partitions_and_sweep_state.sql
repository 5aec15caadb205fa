CREATE TABLE "reconciliation_sweeps" (
	"id" uuid PRIMARY KEY DEFAULT gen_random_uuid() NOT NULL,
	"started_at" timestamp (3) with time zone NOT NULL,
	"period_ms" bigint NOT NULL,
	"swept_fraction" double precision DEFAULT 0 NOT NULL,
	"entry_id_min" bigint,
	"entry_id_max" bigint,
	"first_day" timestamp (3) with time zone,
	"last_day" timestamp (3) with time zone,
	"finished_at" timestamp (3) with time zone,
	CONSTRAINT "reconciliation_sweeps_fraction" CHECK ("reconciliation_sweeps"."swept_fraction" BETWEEN 0 AND 1)
);
--> statement-breakpoint
CREATE TABLE "wallet_ledger_checkpoints" (
	"wallet_id" uuid PRIMARY KEY NOT NULL,
	"through" timestamp (3) with time zone NOT NULL,
	"balance" bigint NOT NULL,
	"carry" bigint NOT NULL,
	"debt" bigint NOT NULL
);
--> statement-breakpoint
ALTER TABLE "reconciliation_runs" ADD COLUMN "scope" text DEFAULT 'full' NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "reconciliation_sweeps_open_key" ON "reconciliation_sweeps" USING btree ((true)) WHERE "reconciliation_sweeps"."finished_at" IS NULL;--> statement-breakpoint
CREATE INDEX "reconciliation_runs_clean_idx" ON "reconciliation_runs" USING btree ("started_at") WHERE "reconciliation_runs"."status" = 'completed' AND "reconciliation_runs"."drift_count" = "reconciliation_runs"."corrected_count";--> statement-breakpoint
ALTER TABLE "reconciliation_runs" ADD CONSTRAINT "reconciliation_runs_scope" CHECK ("reconciliation_runs"."scope" IN ('full', 'incremental'));--> statement-breakpoint
-- ledger_entries becomes partitioned by month (ADR 0027), by hand: drizzle-kit does not model
-- partitioning. The existing table is not copied: it is renamed, and attached as the partition
-- of everything before next month (validated by one read of it); months from then on get a
-- partition each, created ahead by ledger_partitions_ensure(). The key gains created_at, which
-- every unique index of a partitioned table must include.
LOCK TABLE "ledger_entries" IN ACCESS EXCLUSIVE MODE;--> statement-breakpoint
DROP TRIGGER "ledger_entries_append_only" ON "ledger_entries";--> statement-breakpoint
DROP TRIGGER "ledger_entries_no_truncate" ON "ledger_entries";--> statement-breakpoint
ALTER TABLE "ledger_entries" RENAME TO "ledger_entries_unpartitioned";--> statement-breakpoint
ALTER SEQUENCE "ledger_entries_id_seq" RENAME TO "ledger_entries_unpartitioned_id_seq";--> statement-breakpoint
ALTER TABLE "ledger_entries_unpartitioned" RENAME CONSTRAINT "ledger_entries_pkey" TO "ledger_entries_unpartitioned_pkey";--> statement-breakpoint
DROP INDEX "ledger_entries_wallet_id_idx";--> statement-breakpoint
ALTER INDEX "ledger_entries_transaction_id_idx" RENAME TO "ledger_entries_unpartitioned_transaction_id_idx";--> statement-breakpoint
ALTER INDEX "ledger_entries_created_at_idx" RENAME TO "ledger_entries_unpartitioned_created_at_idx";--> statement-breakpoint
ALTER INDEX "ledger_entries_system_created_at_idx" RENAME TO "ledger_entries_unpartitioned_system_created_at_idx";--> statement-breakpoint
CREATE TABLE "ledger_entries" (LIKE "ledger_entries_unpartitioned" INCLUDING DEFAULTS INCLUDING CONSTRAINTS INCLUDING IDENTITY)
  PARTITION BY RANGE ("created_at");--> statement-breakpoint
-- The new identity continues where the old one stopped; the old sequence goes with its identity.
SELECT setval('ledger_entries_id_seq', s.last_value, s.is_called) FROM "ledger_entries_unpartitioned_id_seq" s;--> statement-breakpoint
ALTER TABLE "ledger_entries_unpartitioned" ALTER COLUMN "id" DROP IDENTITY;--> statement-breakpoint
ALTER TABLE "ledger_entries_unpartitioned" DROP CONSTRAINT "ledger_entries_unpartitioned_pkey";--> statement-breakpoint
ALTER TABLE "ledger_entries" ADD CONSTRAINT "ledger_entries_id_created_at_pk" PRIMARY KEY ("id", "created_at");--> statement-breakpoint
ALTER TABLE "ledger_entries" ADD CONSTRAINT "ledger_entries_transaction_id_ledger_transactions_id_fk" FOREIGN KEY ("transaction_id") REFERENCES "public"."ledger_transactions"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE INDEX "ledger_entries_wallet_id_created_at_id_idx" ON "ledger_entries" USING btree ("wallet_id","created_at" DESC NULLS LAST,"id" DESC NULLS LAST) WHERE "ledger_entries"."wallet_id" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "ledger_entries_transaction_id_idx" ON "ledger_entries" USING btree ("transaction_id");--> statement-breakpoint
CREATE INDEX "ledger_entries_created_at_idx" ON "ledger_entries" USING btree ("created_at");--> statement-breakpoint
CREATE INDEX "ledger_entries_system_created_at_idx" ON "ledger_entries" USING btree ("created_at") WHERE "ledger_entries"."system_account" IS NOT NULL;--> statement-breakpoint
-- Attaching builds the partition's key and wallet index and adopts its other indexes and its
-- foreign key, which match the parent's.
DO $$
BEGIN
  EXECUTE format('ALTER TABLE "ledger_entries" ATTACH PARTITION "ledger_entries_unpartitioned" FOR VALUES FROM (MINVALUE) TO (%L)',
                 date_trunc('month', now(), 'UTC') + interval '1 month');
END
$$;--> statement-breakpoint
-- The append-only triggers move to the partitioned table (their source files, unchanged).
-- Ledger postings are never changed or removed.
CREATE OR REPLACE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
  FOR EACH ROW EXECUTE FUNCTION ledger_reject_mutation();--> statement-breakpoint
-- Ledger postings are never emptied in bulk either.
CREATE OR REPLACE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_mutation();--> statement-breakpoint
-- Statement triggers are not cloned to partitions: the history gets its own TRUNCATE trigger.
CREATE TRIGGER "ledger_entries_unpartitioned_no_truncate" BEFORE TRUNCATE ON "ledger_entries_unpartitioned" FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_mutation();--> statement-breakpoint
-- Creates the monthly partitions of ledger_entries from this month to p_months_ahead months ahead, and returns how many it created.
-- Each month is built beside the table and then attached, which takes only a SHARE UPDATE
-- EXCLUSIVE lock on ledger_entries, so purchases keep posting meanwhile; lock_timeout bounds the
-- wait behind a long reader, and the service simply tries again on its next pass (ADR 0027).
-- A month already covered (by its partition or by the history from before partitioning) is
-- skipped. Every partition gets its own TRUNCATE trigger: PostgreSQL clones row triggers to
-- partitions, not statement triggers.
CREATE OR REPLACE FUNCTION ledger_partitions_ensure(p_months_ahead integer) RETURNS integer
LANGUAGE plpgsql AS $$
DECLARE
  v_from timestamptz;
  v_to timestamptz;
  v_name text;
  v_created integer := 0;
BEGIN
  IF p_months_ahead IS NULL OR p_months_ahead NOT BETWEEN 0 AND 24 THEN
    RAISE EXCEPTION 'p_months_ahead must be between 0 and 24, not %', p_months_ahead
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  PERFORM set_config('lock_timeout', '2s', true);
  FOR v_month IN 0..p_months_ahead LOOP
    v_from := date_trunc('month', now(), 'UTC') + make_interval(months => v_month);
    v_to := date_trunc('month', v_from + interval '32 days', 'UTC');
    v_name := 'ledger_entries_' || to_char(v_from AT TIME ZONE 'UTC', '"y"YYYY"m"MM');
    CONTINUE WHEN to_regclass(format('public.%I', v_name)) IS NOT NULL;
    -- A month the history partition already covers routes there.
    CONTINUE WHEN EXISTS (
      SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
       WHERE i.inhparent = 'public.ledger_entries'::regclass
         AND c.relname = 'ledger_entries_unpartitioned'
         AND v_from < (regexp_match(pg_get_expr(c.relpartbound, c.oid), 'TO \(''([^'']+)''\)'))[1]::timestamptz);
    EXECUTE format('CREATE TABLE public.%I (LIKE public.ledger_entries INCLUDING DEFAULTS INCLUDING CONSTRAINTS)', v_name);
    EXECUTE format('ALTER TABLE public.ledger_entries ATTACH PARTITION public.%I FOR VALUES FROM (%L) TO (%L)',
                   v_name, v_from, v_to);
    EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON public.%I FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_mutation()',
                   v_name || '_no_truncate', v_name);
    v_created := v_created + 1;
  END LOOP;
  RETURN v_created;
END
$$;--> statement-breakpoint
-- Event trigger function that refuses ALTER TABLE ... DETACH PARTITION on ledger_entries, which would take postings out of the ledger.
-- It reads the statement's text because a ddl_command_start trigger is the only point before
-- PostgreSQL acts (DETACH ... CONCURRENTLY commits its first half on its own), and the event
-- gives no parse tree to SQL. Erring on the safe side: any statement naming both is refused.
CREATE OR REPLACE FUNCTION ledger_partitions_refuse_detach() RETURNS event_trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF current_query() ~* '\mdetach\s+partition\M' AND current_query() ~* '\mledger_entries' THEN
    RAISE EXCEPTION 'ledger_entries is append-only: DETACH PARTITION is not allowed'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
END
$$;--> statement-breakpoint
-- Event trigger function that refuses to drop ledger_entries or any of its partitions.
CREATE OR REPLACE FUNCTION ledger_partitions_refuse_drop() RETURNS event_trigger
LANGUAGE plpgsql AS $$
BEGIN
  IF EXISTS (SELECT 1 FROM pg_event_trigger_dropped_objects() o
              WHERE o.object_type = 'table' AND o.schema_name = 'public'
                AND (o.object_name = 'ledger_entries' OR o.object_name LIKE 'ledger\_entries\_%')) THEN
    RAISE EXCEPTION 'ledger_entries is append-only: dropping it or a partition is not allowed'
      USING ERRCODE = 'insufficient_privilege';
  END IF;
END
$$;--> statement-breakpoint
-- Event triggers need a superuser. Where migrations run as a lesser role (some managed
-- services), the warning says so and an administrator installs the guard (ADR 0027).
DO $$
BEGIN
  IF (SELECT rolsuper FROM pg_roles WHERE rolname = current_user) THEN
    CREATE EVENT TRIGGER ledger_partitions_no_detach ON ddl_command_start WHEN TAG IN ('ALTER TABLE')
      EXECUTE FUNCTION ledger_partitions_refuse_detach();
    CREATE EVENT TRIGGER ledger_partitions_no_drop ON sql_drop
      EXECUTE FUNCTION ledger_partitions_refuse_drop();
  ELSE
    RAISE WARNING 'not a superuser: the event triggers that refuse DETACH PARTITION and DROP on ledger_entries were not created (ADR 0027)';
  END IF;
END
$$;--> statement-breakpoint
SELECT ledger_partitions_ensure(p_months_ahead => 3);
