-- A withdrawal is a business record the ledger backs: never changed or removed.
CREATE OR REPLACE TRIGGER withdrawals_append_only BEFORE UPDATE OR DELETE ON withdrawals
  FOR EACH ROW EXECUTE FUNCTION ledger_reject_mutation();
