-- The wallet as the API returns it (toWalletDto), as JSON: the data of deposit events.
-- Keep it in step with src/wallets/dto/wallet.dto.ts; test/e2e/events.e2e.spec.ts compares them.
CREATE OR REPLACE FUNCTION wallet_view_json(p_wallet_id uuid) RETURNS json
LANGUAGE plpgsql STABLE AS $$
BEGIN
  RETURN (SELECT json_build_object('id', v.id, 'userId', v.user_id, 'balance', v.balance,
                                   'fractionalBalance', v.fractional_balance, 'debt', v.debt,
                                   'createdAt', api_instant(v.created_at), 'updatedAt', api_instant(v.updated_at))
            FROM wallet_view(p_wallet_id) v);
END
$$;
