-- An event is announced to consumers and receivers: never changed or removed.
CREATE OR REPLACE TRIGGER events_append_only BEFORE UPDATE OR DELETE ON events
  FOR EACH ROW EXECUTE FUNCTION ledger_reject_mutation();
