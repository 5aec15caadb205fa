CREATE TABLE "event_parties" (
	"wallet_id" uuid NOT NULL,
	"xid" "xid8" NOT NULL,
	"seq" bigint NOT NULL,
	"event_id" uuid NOT NULL,
	CONSTRAINT "event_parties_wallet_id_xid_seq_pk" PRIMARY KEY("wallet_id","xid","seq")
);
--> statement-breakpoint
ALTER TABLE "event_parties" ADD CONSTRAINT "event_parties_event_id_events_id_fk" FOREIGN KEY ("event_id") REFERENCES "public"."events"("id") ON DELETE no action ON UPDATE no action;
--> statement-breakpoint
-- Split purchases and refunds made before this migration: their further payees (ADR 0067).
INSERT INTO "event_parties" ("wallet_id", "xid", "seq", "event_id")
SELECT x.wallet_id, e.xid, e.seq, e.id
  FROM events e JOIN purchase_payees x ON x.purchase_id = (e.data ->> 'id')::uuid AND x.position > 1
 WHERE e.type = 'purchase.completed'
UNION ALL
SELECT x.wallet_id, e.xid, e.seq, e.id
  FROM events e
  JOIN refunds r ON r.id = (e.data ->> 'id')::uuid AND r.royalty_terms_version IS NOT NULL
  JOIN purchase_payees x ON x.purchase_id = r.purchase_id AND x.position > 1
 WHERE e.type = 'refund.created';
