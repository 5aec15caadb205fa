-- Trigger function that makes the ledger and the business records it backs append-only.
-- insufficient_privilege, so that no caller mistakes it for a retryable failure.
CREATE OR REPLACE FUNCTION ledger_reject_mutation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;
