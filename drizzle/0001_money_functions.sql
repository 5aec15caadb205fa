-- Money moves only through the functions below: one round trip per operation, all of it in
-- one transaction. Custom SQLSTATEs (class WL) are mapped to domain errors by the service:
--   WL001 wallet not found (or not the caller's)   WL002 insufficient funds
--   WL003 author wallet not found                   WL004 self-purchase

-- The ledger and the business records it backs are append-only.
CREATE FUNCTION ledger_reject_mutation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION '% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'insufficient_privilege';
END
$$;
--> statement-breakpoint
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
  FOR EACH ROW EXECUTE FUNCTION ledger_reject_mutation();
--> statement-breakpoint
CREATE TRIGGER ledger_entries_no_truncate BEFORE TRUNCATE ON ledger_entries
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_mutation();
--> statement-breakpoint
CREATE TRIGGER ledger_transactions_append_only BEFORE UPDATE OR DELETE ON ledger_transactions
  FOR EACH ROW EXECUTE FUNCTION ledger_reject_mutation();
--> statement-breakpoint
CREATE TRIGGER ledger_transactions_no_truncate BEFORE TRUNCATE ON ledger_transactions
  FOR EACH STATEMENT EXECUTE FUNCTION ledger_reject_mutation();
--> statement-breakpoint
CREATE TRIGGER purchases_append_only BEFORE UPDATE OR DELETE ON purchases
  FOR EACH ROW EXECUTE FUNCTION ledger_reject_mutation();
--> statement-breakpoint
CREATE TRIGGER deposits_append_only BEFORE UPDATE OR DELETE ON deposits
  FOR EACH ROW EXECUTE FUNCTION ledger_reject_mutation();
--> statement-breakpoint
CREATE TRIGGER withdrawals_append_only BEFORE UPDATE OR DELETE ON withdrawals
  FOR EACH ROW EXECUTE FUNCTION ledger_reject_mutation();
--> statement-breakpoint

-- The slot a transaction writes its running totals (and hot-wallet credits) to. One backend
-- runs one transaction at a time, so concurrent transactions rarely share a slot.
CREATE FUNCTION stat_slot() RETURNS smallint LANGUAGE sql STABLE AS $$
  SELECT (pg_backend_pid() % 16)::smallint
$$;
--> statement-breakpoint

-- Adds one operation's figures to the running totals and to its UTC hour's rollup.
CREATE FUNCTION totals_add(
  p_at timestamptz, p_deposited bigint, p_withdrawn bigint, p_purchase_volume bigint,
  p_royalties bigint, p_platform_revenue bigint, p_purchase_count bigint
) RETURNS void LANGUAGE sql AS $$
  INSERT INTO running_totals AS t
    (slot, deposited, withdrawn, purchase_volume, royalties, platform_revenue, purchase_count)
  VALUES (stat_slot(), p_deposited, p_withdrawn, p_purchase_volume, p_royalties, p_platform_revenue, p_purchase_count)
  ON CONFLICT (slot) DO UPDATE SET
    deposited = t.deposited + excluded.deposited,
    withdrawn = t.withdrawn + excluded.withdrawn,
    purchase_volume = t.purchase_volume + excluded.purchase_volume,
    royalties = t.royalties + excluded.royalties,
    platform_revenue = t.platform_revenue + excluded.platform_revenue,
    purchase_count = t.purchase_count + excluded.purchase_count;
  INSERT INTO hourly_rollups AS r
    (bucket_start, slot, deposited, withdrawn, purchase_volume, royalties, platform_revenue, purchase_count)
  VALUES (date_trunc('hour', p_at, 'UTC'), stat_slot(), p_deposited, p_withdrawn, p_purchase_volume,
          p_royalties, p_platform_revenue, p_purchase_count)
  ON CONFLICT (bucket_start, slot) DO UPDATE SET
    deposited = r.deposited + excluded.deposited,
    withdrawn = r.withdrawn + excluded.withdrawn,
    purchase_volume = r.purchase_volume + excluded.purchase_volume,
    royalties = r.royalties + excluded.royalties,
    platform_revenue = r.platform_revenue + excluded.platform_revenue,
    purchase_count = r.purchase_count + excluded.purchase_count;
$$;
--> statement-breakpoint

-- Debits a wallet the caller owns, never below zero. A hot wallet keeps part of its balance in
-- slots; when the row alone does not cover the debit, the slots are folded into it first.
CREATE FUNCTION wallet_debit(p_wallet_id uuid, p_user_id uuid, p_amount bigint, p_at timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_owner uuid;
  v_folded bigint;
BEGIN
  UPDATE wallets SET balance = balance - p_amount, updated_at = p_at
   WHERE id = p_wallet_id AND user_id = p_user_id AND balance >= p_amount;
  IF FOUND THEN RETURN; END IF;

  SELECT user_id INTO v_owner FROM wallets WHERE id = p_wallet_id FOR UPDATE;
  IF NOT FOUND OR v_owner <> p_user_id THEN
    RAISE EXCEPTION 'wallet not found' USING ERRCODE = 'WL001';
  END IF;

  WITH held AS (
    SELECT slot, balance FROM wallet_balance_slots
     WHERE wallet_id = p_wallet_id AND balance > 0
     ORDER BY slot FOR UPDATE
  ), emptied AS (
    UPDATE wallet_balance_slots s SET balance = 0
      FROM held WHERE s.wallet_id = p_wallet_id AND s.slot = held.slot
    RETURNING held.balance
  )
  SELECT coalesce(sum(balance), 0) INTO v_folded FROM emptied;

  UPDATE wallets SET balance = balance + v_folded - p_amount, updated_at = p_at
   WHERE id = p_wallet_id AND balance + v_folded >= p_amount;
  IF NOT FOUND THEN
    -- The exception also rolls the fold back.
    RAISE EXCEPTION 'insufficient funds' USING ERRCODE = 'WL002';
  END IF;
END
$$;
--> statement-breakpoint

-- The wallet as clients see it: the row's balance plus any slot credits.
CREATE FUNCTION wallet_view(p_wallet_id uuid)
RETURNS TABLE (id uuid, user_id uuid, balance bigint, fractional_balance integer,
               created_at timestamptz, updated_at timestamptz)
LANGUAGE sql STABLE AS $$
  SELECT w.id, w.user_id,
         w.balance + coalesce((SELECT sum(s.balance) FROM wallet_balance_slots s WHERE s.wallet_id = w.id), 0)::bigint,
         w.fractional_balance, w.created_at, w.updated_at
    FROM wallets w WHERE w.id = p_wallet_id
$$;
--> statement-breakpoint

CREATE FUNCTION wallet_deposit(
  p_deposit_id uuid, p_user_id uuid, p_idempotency_key text, p_request_hash text,
  p_wallet_id uuid, p_amount bigint
) RETURNS TABLE (
  id uuid, replayed boolean, request_hash text, wallet_id uuid, user_id uuid, balance bigint,
  fractional_balance integer, wallet_created_at timestamptz, updated_at timestamptz
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_at timestamptz := now()::timestamptz(3);
  v_balance bigint;
  v_carry integer;
BEGIN
  IF p_idempotency_key IS NOT NULL THEN
    RETURN QUERY
      SELECT d.id, true, d.request_hash, d.wallet_id, w.user_id, d.balance_after,
             d.fractional_balance_after, w.created_at, d.created_at
        FROM deposits d JOIN wallets w ON w.id = d.wallet_id
       WHERE d.user_id = p_user_id AND d.idempotency_key = p_idempotency_key;
    IF FOUND THEN RETURN; END IF;
  END IF;

  UPDATE wallets w SET balance = w.balance + p_amount, updated_at = v_at
   WHERE w.id = p_wallet_id AND w.user_id = p_user_id
  RETURNING w.balance, w.fractional_balance INTO v_balance, v_carry;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'wallet not found' USING ERRCODE = 'WL001';
  END IF;
  v_balance := v_balance + coalesce((SELECT sum(s.balance) FROM wallet_balance_slots s WHERE s.wallet_id = p_wallet_id), 0);

  INSERT INTO ledger_transactions (id, type, created_at) VALUES (p_deposit_id, 'deposit', v_at);
  INSERT INTO deposits (id, user_id, idempotency_key, request_hash, wallet_id, amount,
                        balance_after, fractional_balance_after, created_at)
  VALUES (p_deposit_id, p_user_id, p_idempotency_key, p_request_hash, p_wallet_id, p_amount,
          v_balance, v_carry, v_at);
  INSERT INTO ledger_entries (transaction_id, wallet_id, system_account, amount, created_at)
  VALUES (p_deposit_id, NULL, 'funding', -p_amount, v_at),
         (p_deposit_id, p_wallet_id, NULL, p_amount, v_at);
  PERFORM totals_add(v_at, p_amount, 0, 0, 0, 0, 0);

  RETURN QUERY
    SELECT p_deposit_id, false, p_request_hash, w.id, w.user_id, v_balance, v_carry, w.created_at, v_at
      FROM wallets w WHERE w.id = p_wallet_id;
END
$$;
--> statement-breakpoint

CREATE FUNCTION wallet_withdraw(
  p_withdrawal_id uuid, p_user_id uuid, p_idempotency_key text, p_request_hash text,
  p_wallet_id uuid, p_amount bigint
) RETURNS TABLE (
  id uuid, replayed boolean, request_hash text, wallet_id uuid, amount bigint, created_at timestamptz
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_at timestamptz := now()::timestamptz(3);
BEGIN
  RETURN QUERY
    SELECT x.id, true, x.request_hash, x.wallet_id, x.amount, x.created_at
      FROM withdrawals x WHERE x.user_id = p_user_id AND x.idempotency_key = p_idempotency_key;
  IF FOUND THEN RETURN; END IF;

  PERFORM wallet_debit(p_wallet_id, p_user_id, p_amount, v_at);

  INSERT INTO ledger_transactions (id, type, created_at) VALUES (p_withdrawal_id, 'withdrawal', v_at);
  INSERT INTO withdrawals (id, user_id, idempotency_key, request_hash, wallet_id, amount, created_at)
  VALUES (p_withdrawal_id, p_user_id, p_idempotency_key, p_request_hash, p_wallet_id, p_amount, v_at);
  INSERT INTO ledger_entries (transaction_id, wallet_id, system_account, amount, created_at)
  VALUES (p_withdrawal_id, p_wallet_id, NULL, -p_amount, v_at),
         (p_withdrawal_id, NULL, 'payout', p_amount, v_at);
  PERFORM totals_add(v_at, 0, p_amount, 0, 0, 0, 0);

  RETURN QUERY SELECT p_withdrawal_id, false, p_request_hash, p_wallet_id, p_amount, v_at;
END
$$;
--> statement-breakpoint

-- One purchase: debit the buyer, credit the author whole cents plus the centi-cent carry
-- (sweeping whole cents out of it), credit the platform the rest, post the balanced entries,
-- and add to the totals and rollups. The split here must match src/purchases/royalty-split.ts;
-- the purchases table's CHECKs hold both to the same identities.
CREATE FUNCTION purchase_execute(
  p_purchase_id uuid, p_user_id uuid, p_idempotency_key text, p_request_hash text,
  p_buyer_wallet_id uuid, p_author_wallet_id uuid, p_item_price bigint,
  p_royalty_percent integer, p_platform_wallet_id uuid
) RETURNS TABLE (
  id uuid, replayed boolean, request_hash text, buyer_wallet_id uuid, author_wallet_id uuid,
  item_price bigint, royalty_percent smallint, author_amount bigint, platform_amount bigint, fractional_before smallint,
  fractional_after smallint, status text, created_at timestamptz
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_at timestamptz := now()::timestamptz(3);
  v_buyer_owner uuid;
  v_author_found boolean;
  v_carry_before integer;
  v_centi_cents bigint;
  v_author_amount bigint;
  v_carry_after integer;
  v_platform_amount bigint;
BEGIN
  -- A retry of a purchase that already committed takes no locks.
  RETURN QUERY
    SELECT p.id, true, p.request_hash, p.buyer_wallet_id, p.author_wallet_id, p.item_price,
           p.royalty_percent, p.author_amount, p.platform_amount, p.fractional_before, p.fractional_after, p.status, p.created_at
      FROM purchases p WHERE p.user_id = p_user_id AND p.idempotency_key = p_idempotency_key;
  IF FOUND THEN RETURN; END IF;

  IF p_buyer_wallet_id = p_author_wallet_id THEN
    RAISE EXCEPTION 'a wallet cannot buy from itself' USING ERRCODE = 'WL004';
  END IF;

  -- Lock both wallets in id order, so that purchases between the same two wallets in
  -- opposite directions can never wait on each other in a cycle.
  PERFORM 1 FROM wallets w WHERE w.id IN (p_buyer_wallet_id, p_author_wallet_id) ORDER BY w.id FOR UPDATE;

  SELECT w.user_id INTO v_buyer_owner FROM wallets w WHERE w.id = p_buyer_wallet_id;
  SELECT true, w.fractional_balance INTO v_author_found, v_carry_before
    FROM wallets w WHERE w.id = p_author_wallet_id;

  -- Under the lock: a same-key request that committed while this one waited is a replay.
  RETURN QUERY
    SELECT p.id, true, p.request_hash, p.buyer_wallet_id, p.author_wallet_id, p.item_price,
           p.royalty_percent, p.author_amount, p.platform_amount, p.fractional_before, p.fractional_after, p.status, p.created_at
      FROM purchases p WHERE p.user_id = p_user_id AND p.idempotency_key = p_idempotency_key;
  IF FOUND THEN RETURN; END IF;

  IF v_buyer_owner IS DISTINCT FROM p_user_id THEN
    RAISE EXCEPTION 'wallet not found' USING ERRCODE = 'WL001';
  END IF;
  IF v_author_found IS NULL THEN
    RAISE EXCEPTION 'author wallet not found' USING ERRCODE = 'WL003';
  END IF;
  PERFORM wallet_debit(p_buyer_wallet_id, p_user_id, p_item_price, v_at);

  v_centi_cents := p_item_price * p_royalty_percent + v_carry_before;
  v_author_amount := v_centi_cents / 100;
  v_carry_after := (v_centi_cents % 100)::integer;
  v_platform_amount := p_item_price - v_author_amount;

  UPDATE wallets w SET balance = w.balance + v_author_amount, fractional_balance = v_carry_after, updated_at = v_at
   WHERE w.id = p_author_wallet_id;

  IF v_platform_amount > 0 THEN
    INSERT INTO wallet_balance_slots AS s (wallet_id, slot, balance)
    VALUES (p_platform_wallet_id, stat_slot(), v_platform_amount)
    ON CONFLICT (wallet_id, slot) DO UPDATE SET balance = s.balance + excluded.balance;
  END IF;

  INSERT INTO ledger_transactions (id, type, created_at) VALUES (p_purchase_id, 'purchase', v_at);
  INSERT INTO purchases (id, user_id, idempotency_key, request_hash, buyer_wallet_id, author_wallet_id,
                         item_price, royalty_percent, author_amount, platform_amount,
                         fractional_before, fractional_after, created_at)
  VALUES (p_purchase_id, p_user_id, p_idempotency_key, p_request_hash, p_buyer_wallet_id, p_author_wallet_id,
          p_item_price, p_royalty_percent, v_author_amount, v_platform_amount,
          v_carry_before, v_carry_after, v_at);
  -- Zero-cent legs (a 1-cent item whose royalty is all carry) post nothing.
  INSERT INTO ledger_entries (transaction_id, wallet_id, system_account, amount, created_at)
  SELECT p_purchase_id, leg.wallet_id, NULL, leg.amount, v_at
    FROM (VALUES (p_buyer_wallet_id, -p_item_price),
                 (p_author_wallet_id, v_author_amount),
                 (p_platform_wallet_id, v_platform_amount)) AS leg (wallet_id, amount)
   WHERE leg.amount <> 0;

  PERFORM totals_add(v_at, 0, 0, p_item_price, v_author_amount, v_platform_amount, 1);
  INSERT INTO author_hourly_rollups AS a (author_wallet_id, bucket_start, sales_count, gross_volume, royalty)
  VALUES (p_author_wallet_id, date_trunc('hour', v_at, 'UTC'), 1, p_item_price, v_author_amount)
  ON CONFLICT (author_wallet_id, bucket_start) DO UPDATE SET
    sales_count = a.sales_count + 1,
    gross_volume = a.gross_volume + excluded.gross_volume,
    royalty = a.royalty + excluded.royalty;

  RETURN QUERY SELECT p_purchase_id, false, p_request_hash, p_buyer_wallet_id, p_author_wallet_id, p_item_price,
                      p_royalty_percent::smallint, v_author_amount, v_platform_amount, v_carry_before::smallint, v_carry_after::smallint,
                      'completed'::text, v_at;
END
$$;
