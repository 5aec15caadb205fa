-- A payout's outcome is a business record the ledger backs: never changed or removed.
CREATE OR REPLACE TRIGGER withdrawal_outcomes_append_only BEFORE UPDATE OR DELETE ON withdrawal_outcomes
  FOR EACH ROW EXECUTE FUNCTION ledger_reject_mutation();
