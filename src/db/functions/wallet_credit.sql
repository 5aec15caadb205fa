-- The one implementation of a credit: repays the wallet's debt first, then the rest reaches its balance.
-- One row update (ADR 0017). A wallet in debt holds nothing in its row (CHECK wallets_debt_or_balance),
-- so what was repaid is what the credit did not add to the row: amount - (new row balance), when
-- positive. p_carry_centi_cents, when given, is the wallet's new fractional balance (a royalty
-- sets it in the same update); p_user_id, when given, must own the wallet, else every field comes
-- back NULL. The caller holds the wallet row's lock and posts the repaid cents to receivables.
-- One composite result rather than a set: callers assign it (`v := wallet_credit(...)`), which
-- PL/pgSQL evaluates without a table scan; a set-returning call cost more than the update.
CREATE OR REPLACE FUNCTION wallet_credit(
  p_wallet_id uuid, p_amount_cents bigint, p_at timestamptz, p_carry_centi_cents integer DEFAULT NULL,
  p_user_id uuid DEFAULT NULL,
  OUT debt_repaid_cents bigint, OUT balance_cents bigint, OUT carry_centi_cents integer, OUT debt_cents bigint,
  OUT wallet_created_at timestamptz
) LANGUAGE plpgsql AS $$
BEGIN
  UPDATE wallets w SET balance = w.balance + greatest(p_amount_cents - w.debt, 0),
                       debt = greatest(w.debt - p_amount_cents, 0),
                       fractional_balance = coalesce(p_carry_centi_cents, w.fractional_balance),
                       updated_at = p_at
   WHERE w.id = p_wallet_id AND (p_user_id IS NULL OR w.user_id = p_user_id)
  RETURNING greatest(p_amount_cents - w.balance, 0), w.balance, w.fractional_balance, w.debt, w.created_at
       INTO debt_repaid_cents, balance_cents, carry_centi_cents, debt_cents, wallet_created_at;
END
$$;
