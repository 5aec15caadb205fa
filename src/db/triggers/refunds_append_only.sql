-- A refund is a business record the ledger backs: never changed or removed.
CREATE OR REPLACE TRIGGER refunds_append_only BEFORE UPDATE OR DELETE ON refunds
  FOR EACH ROW EXECUTE FUNCTION ledger_reject_mutation();
