-- A withdrawal as the API returns it (toWithdrawalDto), for the events its transitions write.
CREATE OR REPLACE FUNCTION withdrawal_json(p_withdrawal_id uuid)
RETURNS json LANGUAGE sql STABLE AS $$
  SELECT json_build_object(
           'id', w.id, 'walletId', w.wallet_id, 'amount', w.amount,
           'status', coalesce(o.status, CASE WHEN w.posted_to = 'payout' THEN 'paid' ELSE 'pending' END),
           'destination', w.destination, 'failureReason', o.reason,
           'createdAt', api_instant(w.created_at), 'resolvedAt', api_instant(o.created_at))
    FROM withdrawals w LEFT JOIN withdrawal_outcomes o ON o.withdrawal_id = w.id
   WHERE w.id = p_withdrawal_id
$$;
