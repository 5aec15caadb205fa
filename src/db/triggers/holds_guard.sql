-- A hold moves once, from authorized, and is never removed (hold_guard).
CREATE OR REPLACE TRIGGER holds_guard BEFORE UPDATE OR DELETE ON holds
  FOR EACH ROW EXECUTE FUNCTION hold_guard();
