-- The one implementation of a credit: repays the wallet's debt first and returns what it repaid.
-- The rest reaches the balance (ADR 0017). p_carry_centi_cents, when given, is the wallet's new
-- fractional balance (a royalty credit sets it in the same row update). The caller holds the
-- wallet row's lock and posts the repaid cents to the receivables account.
CREATE OR REPLACE FUNCTION wallet_credit(
  p_wallet_id uuid, p_amount_cents bigint, p_at timestamptz, p_carry_centi_cents integer DEFAULT NULL
) RETURNS bigint LANGUAGE sql AS $$
  UPDATE wallets w SET balance = w.balance + greatest(p_amount_cents - w.debt, 0),
                       debt = greatest(w.debt - p_amount_cents, 0),
                       fractional_balance = coalesce(p_carry_centi_cents, w.fractional_balance),
                       updated_at = p_at
    FROM (SELECT debt AS debt_before FROM wallets WHERE id = p_wallet_id) AS before
   WHERE w.id = p_wallet_id
  RETURNING before.debt_before - w.debt
$$;
