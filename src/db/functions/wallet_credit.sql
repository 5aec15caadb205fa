-- The one implementation of a credit: repays the wallet's debt first and returns what it repaid.
-- The rest reaches the balance (ADR 0017). p_carry_centi_cents, when given, is the wallet's new
-- fractional balance (a royalty credit sets it in the same row update). The caller holds the
-- wallet row's lock and posts the repaid cents to the receivables account. PL/pgSQL rather than
-- SQL: it runs once per purchase and deposit, and only PL/pgSQL keeps its plans between calls.
CREATE OR REPLACE FUNCTION wallet_credit(
  p_wallet_id uuid, p_amount_cents bigint, p_at timestamptz, p_carry_centi_cents integer DEFAULT NULL
) RETURNS bigint LANGUAGE plpgsql AS $$
DECLARE
  v_debt_repaid_cents bigint;
BEGIN
  SELECT least(debt, p_amount_cents) INTO v_debt_repaid_cents FROM wallets WHERE id = p_wallet_id;
  UPDATE wallets SET balance = balance + p_amount_cents - v_debt_repaid_cents,
                     debt = debt - v_debt_repaid_cents,
                     fractional_balance = coalesce(p_carry_centi_cents, fractional_balance),
                     updated_at = p_at
   WHERE id = p_wallet_id;
  RETURN v_debt_repaid_cents;
END
$$;
