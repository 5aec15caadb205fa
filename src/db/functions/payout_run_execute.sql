-- One chunk of a payout run: a pending payout of the whole balance of every wallet at or above the minimum with a destination (ADR 0018).
-- Each payout is a wallet_withdraw.
-- Wallets are taken in id order after p_after_wallet_id, at most p_limit of them, each locked
-- before its balance is read (ADR 0006: wallets in id order), so the amount is exactly what the
-- wallet holds and the debit cannot fail. Each payout's idempotency key names the run: a chunk
-- run again, or the same run started twice at once, replays the payouts it already made instead
-- of paying a wallet twice. One payout moves at most 1,000,000,000 cents (the withdrawal limit).
-- Returns the wallets examined, the last wallet id (NULL when there were none) and the payouts
-- this call created (not the replayed ones), with their cents, which it also adds to the run's row.
CREATE OR REPLACE FUNCTION payout_run_execute(
  p_run_id uuid, p_minimum_cents bigint, p_after_wallet_id uuid, p_limit integer,
  OUT wallets_examined integer, OUT last_wallet_id uuid, OUT payouts_created integer, OUT payouts_cents bigint
) LANGUAGE plpgsql AS $$
DECLARE
  v_key text := 'payout-run:' || p_run_id;
  v_candidate record;
  v_balance_cents bigint;
  v_user_id uuid;
  v_replayed boolean;
  v_amount_cents bigint;
BEGIN
  wallets_examined := 0;
  payouts_created := 0;
  payouts_cents := 0;
  FOR v_candidate IN
    SELECT d.wallet_id, d.destination FROM payout_destinations d
     WHERE p_after_wallet_id IS NULL OR d.wallet_id > p_after_wallet_id
     ORDER BY d.wallet_id LIMIT p_limit
  LOOP
    wallets_examined := wallets_examined + 1;
    last_wallet_id := v_candidate.wallet_id;
    SELECT w.balance + coalesce((SELECT sum(s.balance) FROM wallet_balance_slots s WHERE s.wallet_id = w.id), 0),
           w.user_id
      INTO v_balance_cents, v_user_id
      FROM wallets w WHERE w.id = v_candidate.wallet_id FOR UPDATE;
    CONTINUE WHEN least(v_balance_cents, 1000000000) < p_minimum_cents;
    SELECT x.replayed, x.amount INTO v_replayed, v_amount_cents
      FROM wallet_withdraw(
        p_withdrawal_id => gen_random_uuid(), p_user_id => v_user_id,
        p_idempotency_key => v_key, p_request_hash => v_key, p_wallet_id => v_candidate.wallet_id,
        p_amount => least(v_balance_cents, 1000000000), p_destination => v_candidate.destination) x;
    IF NOT v_replayed THEN
      payouts_created := payouts_created + 1;
      payouts_cents := payouts_cents + v_amount_cents;
    END IF;
  END LOOP;
  -- The run's figures move with its payouts, in the same transaction: a chunk run again, or
  -- raced by the same run, adds only the payouts it created (replays are not counted).
  UPDATE payout_runs SET payout_count = payout_count + payouts_created, total = total + payouts_cents
   WHERE id = p_run_id AND payouts_created > 0;
END
$$;
