-- A deposit is a business record the ledger backs: never changed or removed.
CREATE OR REPLACE TRIGGER deposits_append_only BEFORE UPDATE OR DELETE ON deposits
  FOR EACH ROW EXECUTE FUNCTION ledger_reject_mutation();
