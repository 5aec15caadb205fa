-- A purchase is a business record the ledger backs: never changed or removed.
CREATE OR REPLACE TRIGGER purchases_append_only BEFORE UPDATE OR DELETE ON purchases
  FOR EACH ROW EXECUTE FUNCTION ledger_reject_mutation();
