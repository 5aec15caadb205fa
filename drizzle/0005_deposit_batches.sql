-- Group commit for deposits, as for purchases (0003, ADR 0014): concurrent deposits share one
-- transaction, so one commit (one WAL flush) serves them all. Each deposit still gets its own
-- outcome: completed | replayed | wallet_not_found. A NULL key is a deposit without
-- idempotency. The caller must not put one (user, key) in a batch twice.
-- Same rows, balances and totals as wallet_deposit, item by item in array order.
CREATE FUNCTION wallet_deposit_batch(
  p_deposit_ids uuid[], p_user_ids uuid[], p_idempotency_keys text[], p_request_hashes text[],
  p_wallet_ids uuid[], p_amounts bigint[]
) RETURNS TABLE (
  ordinal integer, outcome text, id uuid, request_hash text, wallet_id uuid, user_id uuid, balance bigint,
  fractional_balance integer, wallet_created_at timestamptz, updated_at timestamptz
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_at timestamptz := now()::timestamptz(3);
  v_count integer := coalesce(array_length(p_deposit_ids, 1), 0);
  v_balance bigint;
  v_carry integer;
  v_wallet_created timestamptz;
  v_total bigint := 0;
BEGIN
  -- Every wallet of the batch, locked once, in id order, as purchases lock theirs.
  PERFORM 1 FROM wallets w WHERE w.id = ANY (p_wallet_ids) ORDER BY w.id FOR UPDATE;

  FOR i IN 1 .. v_count LOOP
    IF p_idempotency_keys[i] IS NOT NULL THEN
      RETURN QUERY
        SELECT i, 'replayed'::text, d.id, d.request_hash, d.wallet_id, w.user_id, d.balance_after,
               d.fractional_balance_after, w.created_at, d.created_at
          FROM deposits d JOIN wallets w ON w.id = d.wallet_id
         WHERE d.user_id = p_user_ids[i] AND d.idempotency_key = p_idempotency_keys[i];
      IF FOUND THEN CONTINUE; END IF;
    END IF;

    UPDATE wallets w SET balance = w.balance + p_amounts[i], updated_at = v_at
     WHERE w.id = p_wallet_ids[i] AND w.user_id = p_user_ids[i]
    RETURNING w.balance, w.fractional_balance, w.created_at INTO v_balance, v_carry, v_wallet_created;
    IF NOT FOUND THEN
      RETURN QUERY SELECT i, 'wallet_not_found'::text, NULL::uuid, NULL::text, NULL::uuid, NULL::uuid,
        NULL::bigint, NULL::integer, NULL::timestamptz, NULL::timestamptz;
      CONTINUE;
    END IF;
    v_balance := v_balance + coalesce((SELECT sum(s.balance) FROM wallet_balance_slots s WHERE s.wallet_id = p_wallet_ids[i]), 0);

    INSERT INTO ledger_transactions (id, type, created_at) VALUES (p_deposit_ids[i], 'deposit', v_at);
    INSERT INTO deposits (id, user_id, idempotency_key, request_hash, wallet_id, amount,
                          balance_after, fractional_balance_after, created_at)
    VALUES (p_deposit_ids[i], p_user_ids[i], p_idempotency_keys[i], p_request_hashes[i], p_wallet_ids[i],
            p_amounts[i], v_balance, v_carry, v_at);
    INSERT INTO ledger_entries (transaction_id, wallet_id, system_account, amount, created_at)
    VALUES (p_deposit_ids[i], NULL, 'funding', -p_amounts[i], v_at),
           (p_deposit_ids[i], p_wallet_ids[i], NULL, p_amounts[i], v_at);
    v_total := v_total + p_amounts[i];

    RETURN QUERY SELECT i, 'completed'::text, p_deposit_ids[i], p_request_hashes[i], p_wallet_ids[i], p_user_ids[i],
      v_balance, v_carry, v_wallet_created, v_at;
  END LOOP;

  IF v_total > 0 THEN PERFORM totals_add(v_at, v_total, 0, 0, 0, 0, 0); END IF;
END
$$;
