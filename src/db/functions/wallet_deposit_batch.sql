-- The one implementation of a deposit: a batch of them in one transaction (ADR 0014).
-- Items run in array order; one commit serves them all, and each gets its own outcome:
-- completed | replayed | wallet_not_found. A single deposit is a batch of one.
-- A NULL key is a deposit without idempotency. The caller must not put one (user, key) in a
-- batch twice.
CREATE OR REPLACE FUNCTION wallet_deposit_batch(
  p_deposit_ids uuid[], p_user_ids uuid[], p_idempotency_keys text[], p_request_hashes text[],
  p_wallet_ids uuid[], p_amounts_cents bigint[]
) RETURNS TABLE (
  ordinal integer, outcome text, id uuid, request_hash text, wallet_id uuid, user_id uuid, balance bigint,
  fractional_balance integer, debt bigint, wallet_created_at timestamptz, updated_at timestamptz
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_at timestamptz := now()::timestamptz(3);
  v_count integer := coalesce(array_length(p_deposit_ids, 1), 0);
  v_replayed boolean[] := array_fill(false, ARRAY[v_count]);
  v_balance_cents bigint;
  v_carry_centi_cents integer;
  v_wallet_created timestamptz;
  v_credit record;
  v_debt_repaid_cents bigint;
  v_debt_cents bigint;
  v_total_cents bigint := 0;
  -- deposit.created events of the completed items, appended with one statement after the loop.
  e_wallets uuid[] := '{}';
  e_data json[] := '{}';
BEGIN
  -- Retries of deposits that already committed are answered first, without taking locks: one
  -- look-up by the unique (user, key) index each. A same-key deposit that commits after its
  -- look-up fails this batch on that index; the caller runs the batch again, and the look-up then
  -- finds it.
  FOR i IN 1 .. v_count LOOP
    CONTINUE WHEN p_idempotency_keys[i] IS NULL;
    RETURN QUERY
      SELECT i, 'replayed'::text, d.id, d.request_hash, d.wallet_id, w.user_id, d.balance_after,
             d.fractional_balance_after, d.debt_after, w.created_at, d.created_at
        FROM deposits d JOIN wallets w ON w.id = d.wallet_id
       WHERE d.user_id = p_user_ids[i] AND d.idempotency_key = p_idempotency_keys[i];
    v_replayed[i] := FOUND;
  END LOOP;
  IF v_count = 0 OR false <> ALL (v_replayed) THEN RETURN; END IF;

  -- The batch's other wallets, locked once, in id order, as purchases lock theirs.
  PERFORM 1 FROM wallets w
   WHERE w.id = ANY (ARRAY(SELECT p_wallet_ids[i] FROM generate_subscripts(p_wallet_ids, 1) AS i WHERE NOT v_replayed[i]))
   ORDER BY w.id FOR UPDATE;

  FOR i IN 1 .. v_count LOOP
    CONTINUE WHEN v_replayed[i];

    -- A wallet in debt (ADR 0017) repays it before anything reaches its balance.
    v_credit := wallet_credit(p_wallet_id => p_wallet_ids[i], p_amount_cents => p_amounts_cents[i], p_at => v_at,
                              p_user_id => p_user_ids[i]);
    IF v_credit.debt_repaid_cents IS NULL THEN
      RETURN QUERY SELECT i, 'wallet_not_found'::text, NULL::uuid, NULL::text, NULL::uuid, NULL::uuid,
        NULL::bigint, NULL::integer, NULL::bigint, NULL::timestamptz, NULL::timestamptz;
      CONTINUE;
    END IF;
    v_debt_repaid_cents := v_credit.debt_repaid_cents;
    v_carry_centi_cents := v_credit.carry_centi_cents;
    v_debt_cents := v_credit.debt_cents;
    v_wallet_created := v_credit.wallet_created_at;
    v_balance_cents := v_credit.balance_cents
      + coalesce((SELECT sum(s.balance) FROM wallet_balance_slots s WHERE s.wallet_id = p_wallet_ids[i]), 0);

    INSERT INTO ledger_transactions (id, type, created_at) VALUES (p_deposit_ids[i], 'deposit', v_at);
    INSERT INTO deposits (id, user_id, idempotency_key, request_hash, wallet_id, amount,
                          balance_after, fractional_balance_after, debt_after, debt_repaid, created_at)
    VALUES (p_deposit_ids[i], p_user_ids[i], p_idempotency_keys[i], p_request_hashes[i], p_wallet_ids[i],
            p_amounts_cents[i], v_balance_cents, v_carry_centi_cents, v_debt_cents, v_debt_repaid_cents, v_at);
    INSERT INTO ledger_entries (transaction_id, wallet_id, system_account, amount, created_at)
    SELECT p_deposit_ids[i], leg.wallet_id, leg.system_account, leg.amount, v_at
      FROM (VALUES (NULL::uuid, 'funding', -p_amounts_cents[i]),
                   (p_wallet_ids[i], NULL, p_amounts_cents[i] - v_debt_repaid_cents),
                   (NULL::uuid, 'receivables', v_debt_repaid_cents)) AS leg (wallet_id, system_account, amount)
     WHERE leg.amount <> 0;
    v_total_cents := v_total_cents + p_amounts_cents[i];
    -- The event's data is the wallet as this deposit left it (what the API returns for it).
    e_wallets := e_wallets || p_wallet_ids[i];
    e_data := e_data || json_build_object('id', p_wallet_ids[i], 'userId', p_user_ids[i], 'balance', v_balance_cents,
                                          'fractionalBalance', v_carry_centi_cents, 'debt', v_debt_cents,
                                          'createdAt', api_instant(v_wallet_created), 'updatedAt', api_instant(v_at));

    RETURN QUERY SELECT i, 'completed'::text, p_deposit_ids[i], p_request_hashes[i], p_wallet_ids[i], p_user_ids[i],
      v_balance_cents, v_carry_centi_cents, v_debt_cents, v_wallet_created, v_at;
  END LOOP;

  IF v_total_cents > 0 THEN PERFORM totals_add(p_at => v_at, p_deposited_cents => v_total_cents); END IF;
  -- The outbox (ADR 0030).
  IF cardinality(e_data) > 0 THEN
    PERFORM events_append(p_type => 'deposit.created', p_wallet_ids => e_wallets,
                          p_counterparty_wallet_ids => array_fill(NULL::uuid, ARRAY[cardinality(e_data)]),
                          p_data => e_data, p_at => v_at);
  END IF;
END
$$;
