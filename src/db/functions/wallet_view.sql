-- The wallet as clients see it: the row's balance plus any slot credits (a hot wallet's).
CREATE OR REPLACE FUNCTION wallet_view(p_wallet_id uuid)
RETURNS TABLE (id uuid, user_id uuid, balance bigint, fractional_balance integer, debt bigint,
               created_at timestamptz, updated_at timestamptz)
LANGUAGE sql STABLE AS $$
  SELECT w.id, w.user_id,
         w.balance + coalesce((SELECT sum(s.balance) FROM wallet_balance_slots s WHERE s.wallet_id = w.id), 0)::bigint,
         w.fractional_balance, w.debt, w.created_at, w.updated_at
    FROM wallets w WHERE w.id = p_wallet_id
$$;
