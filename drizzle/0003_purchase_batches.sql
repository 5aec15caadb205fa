-- Group commit for purchases: many concurrent purchases in one transaction, so that one
-- commit (one WAL flush) and one lock acquisition serve them all. A popular author's row is
-- then locked once per batch instead of once per purchase. Each purchase still gets its own
-- outcome: a refused purchase moves nothing and does not disturb the others in its batch.

-- Debits a wallet the caller owns, never below zero, and says why not instead of raising.
-- When the row alone does not cover the debit, slot credits (a hot wallet's) are folded in
-- first; the fold only changes where the balance is kept, so it stays even if the debit fails.
CREATE FUNCTION wallet_try_debit(p_wallet_id uuid, p_user_id uuid, p_amount bigint, p_at timestamptz)
RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  v_owner uuid;
  v_folded bigint;
BEGIN
  UPDATE wallets SET balance = balance - p_amount, updated_at = p_at
   WHERE id = p_wallet_id AND user_id = p_user_id AND balance >= p_amount;
  IF FOUND THEN RETURN 'ok'; END IF;

  SELECT user_id INTO v_owner FROM wallets WHERE id = p_wallet_id FOR UPDATE;
  IF NOT FOUND OR v_owner <> p_user_id THEN RETURN 'wallet_not_found'; END IF;

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
  IF v_folded = 0 THEN RETURN 'insufficient_funds'; END IF;

  UPDATE wallets SET balance = balance + v_folded - p_amount, updated_at = p_at
   WHERE id = p_wallet_id AND balance + v_folded >= p_amount;
  IF FOUND THEN RETURN 'ok'; END IF;
  UPDATE wallets SET balance = balance + v_folded WHERE id = p_wallet_id;
  RETURN 'insufficient_funds';
END
$$;
--> statement-breakpoint

-- The single-operation debit now shares the batch's rules and raises for its callers.
CREATE OR REPLACE FUNCTION wallet_debit(p_wallet_id uuid, p_user_id uuid, p_amount bigint, p_at timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
  v_outcome text := wallet_try_debit(p_wallet_id, p_user_id, p_amount, p_at);
BEGIN
  IF v_outcome = 'wallet_not_found' THEN
    RAISE EXCEPTION 'wallet not found' USING ERRCODE = 'WL001';
  ELSIF v_outcome = 'insufficient_funds' THEN
    RAISE EXCEPTION 'insufficient funds' USING ERRCODE = 'WL002';
  END IF;
END
$$;
--> statement-breakpoint

-- Purchases item by item, in array order, under locks taken once for the whole batch.
-- outcome: completed | replayed | self_purchase | wallet_not_found | author_not_found |
-- insufficient_funds. The caller must not put one (user, key) in a batch twice.
-- Same arithmetic as purchase_execute and src/purchases/royalty-split.ts.
CREATE FUNCTION purchase_execute_batch(
  p_purchase_ids uuid[], p_user_ids uuid[], p_idempotency_keys text[], p_request_hashes text[],
  p_buyer_wallet_ids uuid[], p_author_wallet_ids uuid[], p_item_prices bigint[],
  p_royalty_percent integer, p_platform_wallet_id uuid
) RETURNS TABLE (
  ordinal integer, outcome text, id uuid, request_hash text, buyer_wallet_id uuid, author_wallet_id uuid,
  item_price bigint, royalty_percent smallint, author_amount bigint, platform_amount bigint,
  fractional_before smallint, fractional_after smallint, created_at timestamptz
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_at timestamptz := now()::timestamptz(3);
  v_count integer := coalesce(array_length(p_purchase_ids, 1), 0);
  v_existing purchases%ROWTYPE;
  v_owner uuid;
  v_carry integer;
  v_debit text;
  v_centi_cents bigint;
  v_author_amount bigint;
  v_carry_after integer;
  v_platform_amount bigint;
  v_platform_total bigint := 0;
  v_volume bigint := 0;
  v_royalties bigint := 0;
  -- Completed purchases, written with one statement per table after the loop.
  c_ids uuid[] := '{}';
  c_users uuid[] := '{}';
  c_keys text[] := '{}';
  c_hashes text[] := '{}';
  c_buyers uuid[] := '{}';
  c_authors uuid[] := '{}';
  c_prices bigint[] := '{}';
  c_author_amounts bigint[] := '{}';
  c_platform_amounts bigint[] := '{}';
  c_before smallint[] := '{}';
  c_after smallint[] := '{}';
BEGIN
  -- Every wallet of the batch, locked once, in id order: batches (and single operations)
  -- touching the same wallets queue instead of deadlocking.
  PERFORM 1 FROM wallets w
   WHERE w.id = ANY (p_buyer_wallet_ids || p_author_wallet_ids)
   ORDER BY w.id FOR UPDATE;

  FOR i IN 1 .. v_count LOOP
    SELECT * INTO v_existing FROM purchases p
     WHERE p.user_id = p_user_ids[i] AND p.idempotency_key = p_idempotency_keys[i];
    IF FOUND THEN
      RETURN QUERY SELECT i, 'replayed'::text, v_existing.id, v_existing.request_hash, v_existing.buyer_wallet_id,
        v_existing.author_wallet_id, v_existing.item_price, v_existing.royalty_percent, v_existing.author_amount,
        v_existing.platform_amount, v_existing.fractional_before, v_existing.fractional_after, v_existing.created_at;
      CONTINUE;
    END IF;

    IF p_buyer_wallet_ids[i] = p_author_wallet_ids[i] THEN
      RETURN QUERY SELECT i, 'self_purchase'::text, NULL::uuid, NULL::text, NULL::uuid, NULL::uuid, NULL::bigint,
        NULL::smallint, NULL::bigint, NULL::bigint, NULL::smallint, NULL::smallint, NULL::timestamptz;
      CONTINUE;
    END IF;

    SELECT w.user_id INTO v_owner FROM wallets w WHERE w.id = p_buyer_wallet_ids[i];
    IF v_owner IS DISTINCT FROM p_user_ids[i] THEN
      RETURN QUERY SELECT i, 'wallet_not_found'::text, NULL::uuid, NULL::text, NULL::uuid, NULL::uuid, NULL::bigint,
        NULL::smallint, NULL::bigint, NULL::bigint, NULL::smallint, NULL::smallint, NULL::timestamptz;
      CONTINUE;
    END IF;

    SELECT w.fractional_balance INTO v_carry FROM wallets w WHERE w.id = p_author_wallet_ids[i];
    IF NOT FOUND THEN
      RETURN QUERY SELECT i, 'author_not_found'::text, NULL::uuid, NULL::text, NULL::uuid, NULL::uuid, NULL::bigint,
        NULL::smallint, NULL::bigint, NULL::bigint, NULL::smallint, NULL::smallint, NULL::timestamptz;
      CONTINUE;
    END IF;

    v_debit := wallet_try_debit(p_buyer_wallet_ids[i], p_user_ids[i], p_item_prices[i], v_at);
    IF v_debit <> 'ok' THEN
      RETURN QUERY SELECT i, v_debit, NULL::uuid, NULL::text, NULL::uuid, NULL::uuid, NULL::bigint,
        NULL::smallint, NULL::bigint, NULL::bigint, NULL::smallint, NULL::smallint, NULL::timestamptz;
      CONTINUE;
    END IF;

    v_centi_cents := p_item_prices[i] * p_royalty_percent + v_carry;
    v_author_amount := v_centi_cents / 100;
    v_carry_after := (v_centi_cents % 100)::integer;
    v_platform_amount := p_item_prices[i] - v_author_amount;

    UPDATE wallets w SET balance = w.balance + v_author_amount, fractional_balance = v_carry_after, updated_at = v_at
     WHERE w.id = p_author_wallet_ids[i];

    c_ids := c_ids || p_purchase_ids[i];
    c_users := c_users || p_user_ids[i];
    c_keys := c_keys || p_idempotency_keys[i];
    c_hashes := c_hashes || p_request_hashes[i];
    c_buyers := c_buyers || p_buyer_wallet_ids[i];
    c_authors := c_authors || p_author_wallet_ids[i];
    c_prices := c_prices || p_item_prices[i];
    c_author_amounts := c_author_amounts || v_author_amount;
    c_platform_amounts := c_platform_amounts || v_platform_amount;
    c_before := c_before || v_carry::smallint;
    c_after := c_after || v_carry_after::smallint;
    v_platform_total := v_platform_total + v_platform_amount;
    v_volume := v_volume + p_item_prices[i];
    v_royalties := v_royalties + v_author_amount;

    RETURN QUERY SELECT i, 'completed'::text, p_purchase_ids[i], p_request_hashes[i], p_buyer_wallet_ids[i],
      p_author_wallet_ids[i], p_item_prices[i], p_royalty_percent::smallint, v_author_amount, v_platform_amount,
      v_carry::smallint, v_carry_after::smallint, v_at;
  END LOOP;

  IF cardinality(c_ids) = 0 THEN RETURN; END IF;

  INSERT INTO ledger_transactions (id, type, created_at)
  SELECT t.id, 'purchase', v_at FROM unnest(c_ids) AS t (id);

  INSERT INTO purchases (id, user_id, idempotency_key, request_hash, buyer_wallet_id, author_wallet_id,
                         item_price, royalty_percent, author_amount, platform_amount,
                         fractional_before, fractional_after, created_at)
  SELECT c.id, c.user_id, c.key, c.hash, c.buyer, c.author, c.price, p_royalty_percent, c.author_amount,
         c.platform_amount, c.before, c.after, v_at
    FROM unnest(c_ids, c_users, c_keys, c_hashes, c_buyers, c_authors, c_prices, c_author_amounts,
                c_platform_amounts, c_before, c_after)
      AS c (id, user_id, key, hash, buyer, author, price, author_amount, platform_amount, before, after);

  -- Zero-cent legs (a 1-cent item whose royalty is all carry) post nothing.
  INSERT INTO ledger_entries (transaction_id, wallet_id, system_account, amount, created_at)
  SELECT leg.transaction_id, leg.wallet_id, NULL, leg.amount, v_at
    FROM unnest(c_ids, c_buyers, c_authors, c_prices, c_author_amounts, c_platform_amounts)
      AS c (id, buyer, author, price, author_amount, platform_amount)
   CROSS JOIN LATERAL (VALUES (c.id, c.buyer, -c.price),
                              (c.id, c.author, c.author_amount),
                              (c.id, p_platform_wallet_id, c.platform_amount)) AS leg (transaction_id, wallet_id, amount)
   WHERE leg.amount <> 0;

  IF v_platform_total > 0 THEN
    INSERT INTO wallet_balance_slots AS s (wallet_id, slot, balance)
    VALUES (p_platform_wallet_id, stat_slot(), v_platform_total)
    ON CONFLICT (wallet_id, slot) DO UPDATE SET balance = s.balance + excluded.balance;
  END IF;

  PERFORM totals_add(v_at, 0, 0, v_volume, v_royalties, v_platform_total, cardinality(c_ids));

  INSERT INTO author_hourly_rollups AS a (author_wallet_id, bucket_start, sales_count, gross_volume, royalty)
  SELECT c.author, date_trunc('hour', v_at, 'UTC'), count(*), sum(c.price), sum(c.author_amount)
    FROM unnest(c_authors, c_prices, c_author_amounts) AS c (author, price, author_amount)
   GROUP BY c.author
   ORDER BY c.author
  ON CONFLICT (author_wallet_id, bucket_start) DO UPDATE SET
    sales_count = a.sales_count + excluded.sales_count,
    gross_volume = a.gross_volume + excluded.gross_volume,
    royalty = a.royalty + excluded.royalty;
END
$$;
