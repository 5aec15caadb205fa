-- The one implementation of a purchase: a batch of them in one transaction (ADR 0014).
-- Items run in array order under locks taken once for the whole batch; a single purchase is a
-- batch of one. The batch's wallet rows are read once under those locks; the items work on these
-- copies with wallet_try_debit's and wallet_credit's rules, and one statement writes back every
-- wallet they changed (ADR 0065): per item, the loop runs no SQL statement of its own.
-- For each item: debit the buyer, credit the author whole cents plus the centi-cent carry
-- (sweeping whole cents out of it), credit the platform the rest, post the balanced entries, and
-- add to the running totals and rollups. The split must match src/purchases/royalty-split.ts;
-- the purchases table's CHECKs hold both to the same identities (ADR 0008).
-- An item whose itemId has royalty terms (ADR 0045) is split instead among the terms' payees by
-- royalty_parts, each payee credited its part with its own carry; the purchase records the terms
-- version, and purchase_payees each part. Items without terms do exactly what they did before.
-- p_royalty_terms_versions (optional, per item): NULL uses the terms in force now; 0 none (one
-- author); n exactly version n (a capture passes what its hold saw at authorization).
-- p_paid_from_holds (optional, per item): true takes the price from the holds account instead of
-- the buyer's balance (a capture, ADR 0018: the caller holds the hold's lock and has released
-- only the part it does not capture); the buyer's balance is then neither checked nor debited.
-- outcome: completed | replayed | self_purchase | wallet_not_found | author_not_found |
-- author_required | author_not_payee | insufficient_funds; a refused item moves nothing and does
-- not disturb the others. The caller must not put one (user, key) in a batch twice.
CREATE OR REPLACE FUNCTION purchase_execute_batch(
  p_purchase_ids uuid[], p_user_ids uuid[], p_idempotency_keys text[], p_request_hashes text[],
  p_buyer_wallet_ids uuid[], p_author_wallet_ids uuid[], p_item_prices_cents bigint[],
  p_royalty_percent integer, p_platform_wallet_id uuid,
  p_item_ids text[] DEFAULT NULL, p_metadata jsonb[] DEFAULT NULL, p_royalty_terms_versions integer[] DEFAULT NULL,
  p_paid_from_holds boolean[] DEFAULT NULL
) RETURNS TABLE (
  ordinal integer, outcome text, id uuid, request_hash text, buyer_wallet_id uuid, author_wallet_id uuid,
  item_price bigint, royalty_percent smallint, author_amount bigint, platform_amount bigint,
  fractional_before smallint, fractional_after smallint, created_at timestamptz, item_id text, metadata jsonb,
  royalty_terms_version integer, payees json
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_at timestamptz := now()::timestamptz(3);
  v_at_text text := api_instant(v_at);
  v_count integer := coalesce(array_length(p_purchase_ids, 1), 0);
  v_replayed boolean[] := array_fill(false, ARRAY[v_count]);
  v_terms_versions integer[] := array_fill(NULL::integer, ARRAY[v_count]);
  v_payee_lock_ids uuid[] := '{}';
  v_terms royalty_terms%ROWTYPE;
  -- The batch's wallets, in id order as locked: working copies of their rows.
  w_ids uuid[];
  w_users uuid[];
  w_balances_cents bigint[];
  w_carries_centi_cents integer[];
  w_debts_cents bigint[];
  w_changed boolean[];
  v_buyer integer;
  v_author integer;
  v_payee integer;
  v_folded_cents bigint;
  v_platform_in_debt boolean;
  v_platform integer;
  v_platform_debt_left_cents bigint;
  v_platform_debt_repaid_cents bigint := 0;
  r record;
  v_author_wallet_id uuid;
  v_royalty_percent integer;
  v_carry_before_centi_cents integer;
  v_royalty_centi_cents bigint;
  v_author_amount_cents bigint;
  v_carry_after_centi_cents integer;
  v_platform_amount_cents bigint;
  v_author_debt_repaid_cents bigint;
  v_payees json;
  v_payee_parts json[];
  v_parts_centi_cents bigint[];
  v_payee_carry_before integer;
  v_payee_owed_centi_cents bigint;
  v_payee_cents bigint;
  v_payee_repaid_cents bigint;
  v_platform_total_cents bigint := 0;
  v_volume_cents bigint := 0;
  v_royalties_cents bigint := 0;
  -- Completed purchases, written with one statement per table after the loop.
  c_ids uuid[] := '{}';
  c_users uuid[] := '{}';
  c_keys text[] := '{}';
  c_hashes text[] := '{}';
  c_buyers uuid[] := '{}';
  c_authors uuid[] := '{}';
  c_prices_cents bigint[] := '{}';
  c_percents smallint[] := '{}';
  c_author_amounts_cents bigint[] := '{}';
  c_platform_amounts_cents bigint[] := '{}';
  c_debts_repaid_cents bigint[] := '{}';
  c_platform_debts_repaid_cents bigint[] := '{}';
  c_platform_debts_cents bigint[] := '{}';
  c_carries_before smallint[] := '{}';
  c_carries_after smallint[] := '{}';
  c_item_ids text[] := '{}';
  c_metadata jsonb[] := '{}';
  c_terms_versions integer[] := '{}';
  c_payees json[] := '{}';
  c_paid_from_holds boolean[] := '{}';
  -- The payees of split purchases, one element per payee.
  cp_purchase_ids uuid[] := '{}';
  cp_positions smallint[] := '{}';
  cp_wallets uuid[] := '{}';
  cp_shares_bps integer[] := '{}';
  cp_parts_centi_cents bigint[] := '{}';
  cp_amounts_cents bigint[] := '{}';
  cp_carries_before smallint[] := '{}';
  cp_carries_after smallint[] := '{}';
  cp_debts_repaid_cents bigint[] := '{}';
  cp_prices_cents bigint[] := '{}';
  cp_item_ids text[] := '{}';
BEGIN
  -- Retries of purchases that already committed are answered first, without taking locks: one
  -- statement probing the unique (user, key) index once per item. A same-key purchase that commits after its
  -- look-up fails this batch on that index; the caller runs the batch again (callMoneyBatch), and
  -- the look-up then finds it. Items that name an item look up its terms in force (one probe of
  -- the terms' primary key), so that their payees are locked with the other wallets.
  FOR r IN
    SELECT u.ordinal::integer AS ordinal, p.*
      FROM unnest(p_user_ids, p_idempotency_keys) WITH ORDINALITY AS u (user_id, key, ordinal)
     CROSS JOIN LATERAL (SELECT * FROM purchases p
                          WHERE p.user_id = u.user_id AND p.idempotency_key = u.key LIMIT 1) p
  LOOP
    v_replayed[r.ordinal] := true;
    RETURN QUERY SELECT r.ordinal, 'replayed'::text, r.id, r.request_hash, r.buyer_wallet_id,
      r.author_wallet_id, r.item_price, r.royalty_percent, r.author_amount,
      r.platform_amount, r.fractional_before, r.fractional_after, r.created_at,
      r.item_id, r.metadata, r.royalty_terms_version,
      CASE WHEN r.royalty_terms_version IS NULL
           THEN json_build_array(json_build_object('walletId', r.author_wallet_id, 'amount', r.author_amount))
           ELSE (SELECT json_agg(json_build_object('walletId', pp.wallet_id, 'amount', pp.amount_cents) ORDER BY pp.position)
                   FROM purchase_payees pp WHERE pp.purchase_id = r.id) END;
  END LOOP;
  FOR i IN 1 .. coalesce(array_length(p_item_ids, 1), 0) LOOP
    -- A version fixed by the caller (a capture: the terms its hold saw) wins; 0 means none.
    CONTINUE WHEN v_replayed[i] OR p_item_ids[i] IS NULL OR p_royalty_terms_versions[i] = 0;
    SELECT * INTO v_terms FROM royalty_terms t
     WHERE t.item_id = p_item_ids[i] AND (p_royalty_terms_versions[i] IS NULL OR t.version = p_royalty_terms_versions[i])
     ORDER BY t.version DESC LIMIT 1;
    CONTINUE WHEN NOT FOUND;
    v_terms_versions[i] := v_terms.version;
    v_payee_lock_ids := v_payee_lock_ids || v_terms.payee_wallet_ids;
  END LOOP;
  IF v_count = 0 OR false <> ALL (v_replayed) THEN RETURN; END IF;

  -- A platform wallet in debt (ADR 0017) repays it from its revenue before any reaches its
  -- balance: its row is then locked with the batch's wallets and credited like theirs, not
  -- through a slot. The common case, no debt, costs one index probe and takes no lock on it.
  v_platform_in_debt := EXISTS (SELECT 1 FROM wallets w WHERE w.id = p_platform_wallet_id AND w.debt > 0);

  -- The batch's other wallets (buyers, authors, payees), locked once, in id order: batches (and
  -- withdrawals, refunds) touching the same wallets queue instead of deadlocking.
  -- They are read once, here, into the working copies the items below debit and credit.
  SELECT array_agg(w.id ORDER BY w.id), array_agg(w.user_id ORDER BY w.id), array_agg(w.balance ORDER BY w.id),
         array_agg(w.fractional_balance ORDER BY w.id), array_agg(w.debt ORDER BY w.id)
    INTO w_ids, w_users, w_balances_cents, w_carries_centi_cents, w_debts_cents
    FROM (SELECT w.id, w.user_id, w.balance, w.fractional_balance, w.debt FROM wallets w
           WHERE w.id = ANY (ARRAY(SELECT unnest(ARRAY[p_buyer_wallet_ids[i], p_author_wallet_ids[i]])
                                     FROM generate_subscripts(p_purchase_ids, 1) AS i WHERE NOT v_replayed[i])
                             || v_payee_lock_ids
                             || CASE WHEN v_platform_in_debt THEN ARRAY[p_platform_wallet_id] ELSE '{}'::uuid[] END)
           ORDER BY w.id FOR UPDATE) w;
  w_changed := array_fill(false, ARRAY[coalesce(cardinality(w_ids), 0)]);

  FOR i IN 1 .. v_count LOOP
    CONTINUE WHEN v_replayed[i];

    IF v_terms_versions[i] IS NULL THEN
      v_author_wallet_id := p_author_wallet_ids[i];
      IF v_author_wallet_id IS NULL THEN
        RETURN QUERY SELECT i, 'author_required'::text, NULL::uuid, NULL::text, NULL::uuid, NULL::uuid, NULL::bigint,
          NULL::smallint, NULL::bigint, NULL::bigint, NULL::smallint, NULL::smallint, NULL::timestamptz, NULL::text, NULL::jsonb,
          NULL::integer, NULL::json;
        CONTINUE;
      END IF;
      IF p_buyer_wallet_ids[i] = v_author_wallet_id THEN
        RETURN QUERY SELECT i, 'self_purchase'::text, NULL::uuid, NULL::text, NULL::uuid, NULL::uuid, NULL::bigint,
          NULL::smallint, NULL::bigint, NULL::bigint, NULL::smallint, NULL::smallint, NULL::timestamptz, NULL::text, NULL::jsonb,
          NULL::integer, NULL::json;
        CONTINUE;
      END IF;
    ELSE
      SELECT * INTO v_terms FROM royalty_terms t WHERE t.item_id = p_item_ids[i] AND t.version = v_terms_versions[i];
      v_author_wallet_id := v_terms.payee_wallet_ids[1];
      -- None of the payees may be the buyer at the time of the purchase.
      IF p_buyer_wallet_ids[i] = ANY (v_terms.payee_wallet_ids) THEN
        RETURN QUERY SELECT i, 'self_purchase'::text, NULL::uuid, NULL::text, NULL::uuid, NULL::uuid, NULL::bigint,
          NULL::smallint, NULL::bigint, NULL::bigint, NULL::smallint, NULL::smallint, NULL::timestamptz, NULL::text, NULL::jsonb,
          NULL::integer, NULL::json;
        CONTINUE;
      END IF;
      IF p_author_wallet_ids[i] IS NOT NULL AND NOT p_author_wallet_ids[i] = ANY (v_terms.payee_wallet_ids) THEN
        RETURN QUERY SELECT i, 'author_not_payee'::text, NULL::uuid, NULL::text, NULL::uuid, NULL::uuid, NULL::bigint,
          NULL::smallint, NULL::bigint, NULL::bigint, NULL::smallint, NULL::smallint, NULL::timestamptz, NULL::text, NULL::jsonb,
          NULL::integer, NULL::json;
        CONTINUE;
      END IF;
    END IF;

    v_buyer := array_position(w_ids, p_buyer_wallet_ids[i]);
    IF v_buyer IS NULL OR w_users[v_buyer] <> p_user_ids[i] THEN
      RETURN QUERY SELECT i, 'wallet_not_found'::text, NULL::uuid, NULL::text, NULL::uuid, NULL::uuid, NULL::bigint,
        NULL::smallint, NULL::bigint, NULL::bigint, NULL::smallint, NULL::smallint, NULL::timestamptz, NULL::text, NULL::jsonb,
        NULL::integer, NULL::json;
      CONTINUE;
    END IF;

    IF v_terms_versions[i] IS NULL THEN
      v_author := array_position(w_ids, v_author_wallet_id);
      IF v_author IS NULL THEN
        RETURN QUERY SELECT i, 'author_not_found'::text, NULL::uuid, NULL::text, NULL::uuid, NULL::uuid, NULL::bigint,
          NULL::smallint, NULL::bigint, NULL::bigint, NULL::smallint, NULL::smallint, NULL::timestamptz, NULL::text, NULL::jsonb,
          NULL::integer, NULL::json;
        CONTINUE;
      END IF;
    END IF;

    -- The debit, by wallet_try_debit's rule: only the balance counts, and a hot wallet's slots are
    -- folded into its row when the row alone does not cover the price. A capture was paid when
    -- its hold was authorized: the held cents fund it.
    IF p_paid_from_holds[i] IS NOT TRUE THEN
      IF w_balances_cents[v_buyer] < p_item_prices_cents[i] THEN
        v_folded_cents := wallet_fold_slots(p_wallet_id => w_ids[v_buyer]);
        w_balances_cents[v_buyer] := w_balances_cents[v_buyer] + v_folded_cents;
        w_changed[v_buyer] := w_changed[v_buyer] OR v_folded_cents > 0;
      END IF;
      IF w_balances_cents[v_buyer] < p_item_prices_cents[i] THEN
        RETURN QUERY SELECT i, 'insufficient_funds'::text, NULL::uuid, NULL::text, NULL::uuid, NULL::uuid, NULL::bigint,
          NULL::smallint, NULL::bigint, NULL::bigint, NULL::smallint, NULL::smallint, NULL::timestamptz, NULL::text, NULL::jsonb,
          NULL::integer, NULL::json;
        CONTINUE;
      END IF;
      w_balances_cents[v_buyer] := w_balances_cents[v_buyer] - p_item_prices_cents[i];
      w_changed[v_buyer] := true;
    END IF;

    IF v_terms_versions[i] IS NULL THEN
      v_carry_before_centi_cents := w_carries_centi_cents[v_author];
      v_royalty_percent := p_royalty_percent;
      -- The split: the author's share in centi-cents plus the carry; whole cents are paid now.
      v_royalty_centi_cents := p_item_prices_cents[i] * v_royalty_percent + v_carry_before_centi_cents;
      v_author_amount_cents := v_royalty_centi_cents / 100;
      v_carry_after_centi_cents := (v_royalty_centi_cents % 100)::integer;

      -- An author in debt (ADR 0017) repays it from the royalty before anything reaches its balance.
      -- The credit, by wallet_credit's rule: an author in debt (ADR 0017) repays it first.
      v_author_debt_repaid_cents := least(w_debts_cents[v_author], v_author_amount_cents);
      w_debts_cents[v_author] := w_debts_cents[v_author] - v_author_debt_repaid_cents;
      w_balances_cents[v_author] := w_balances_cents[v_author] + v_author_amount_cents - v_author_debt_repaid_cents;
      w_carries_centi_cents[v_author] := v_carry_after_centi_cents;
      w_changed[v_author] := true;
      v_payees := json_build_array(json_build_object('walletId', v_author_wallet_id, 'amount', v_author_amount_cents));
    ELSE
      -- Each payee's exact part, with its own carry; the purchase's carry columns hold the sums, so
      -- the purchases table's carry CHECK holds for the whole and purchase_payees' for each part.
      v_royalty_percent := v_terms.royalty_percent;
      v_parts_centi_cents := royalty_parts(p_total_centi_cents => p_item_prices_cents[i] * v_royalty_percent,
                                           p_shares_bps => v_terms.payee_shares_bps);
      v_author_amount_cents := 0;
      v_carry_before_centi_cents := 0;
      v_carry_after_centi_cents := 0;
      v_author_debt_repaid_cents := 0;
      v_payee_parts := '{}';
      FOR j IN 1 .. cardinality(v_terms.payee_wallet_ids) LOOP
        v_payee := array_position(w_ids, v_terms.payee_wallet_ids[j]);
        v_payee_carry_before := w_carries_centi_cents[v_payee];
        v_payee_owed_centi_cents := v_parts_centi_cents[j] + v_payee_carry_before;
        v_payee_cents := v_payee_owed_centi_cents / 100;
        v_payee_repaid_cents := least(w_debts_cents[v_payee], v_payee_cents);
        w_debts_cents[v_payee] := w_debts_cents[v_payee] - v_payee_repaid_cents;
        w_balances_cents[v_payee] := w_balances_cents[v_payee] + v_payee_cents - v_payee_repaid_cents;
        w_carries_centi_cents[v_payee] := (v_payee_owed_centi_cents % 100)::integer;
        w_changed[v_payee] := true;
        cp_purchase_ids := cp_purchase_ids || p_purchase_ids[i];
        cp_positions := cp_positions || j::smallint;
        cp_wallets := cp_wallets || v_terms.payee_wallet_ids[j];
        cp_shares_bps := cp_shares_bps || v_terms.payee_shares_bps[j];
        cp_parts_centi_cents := cp_parts_centi_cents || v_parts_centi_cents[j];
        cp_amounts_cents := cp_amounts_cents || v_payee_cents;
        cp_carries_before := cp_carries_before || v_payee_carry_before::smallint;
        cp_carries_after := cp_carries_after || (v_payee_owed_centi_cents % 100)::smallint;
        cp_debts_repaid_cents := cp_debts_repaid_cents || v_payee_repaid_cents;
        cp_prices_cents := cp_prices_cents || p_item_prices_cents[i];
        cp_item_ids := cp_item_ids || p_item_ids[i];
        v_author_amount_cents := v_author_amount_cents + v_payee_cents;
        v_carry_before_centi_cents := v_carry_before_centi_cents + v_payee_carry_before;
        v_carry_after_centi_cents := v_carry_after_centi_cents + (v_payee_owed_centi_cents % 100)::integer;
        v_author_debt_repaid_cents := v_author_debt_repaid_cents + v_payee_repaid_cents;
        v_payee_parts := v_payee_parts || json_build_object('walletId', v_terms.payee_wallet_ids[j], 'amount', v_payee_cents);
      END LOOP;
      v_payees := array_to_json(v_payee_parts);
    END IF;
    v_platform_amount_cents := p_item_prices_cents[i] - v_author_amount_cents;

    c_ids := c_ids || p_purchase_ids[i];
    c_users := c_users || p_user_ids[i];
    c_keys := c_keys || p_idempotency_keys[i];
    c_hashes := c_hashes || p_request_hashes[i];
    c_buyers := c_buyers || p_buyer_wallet_ids[i];
    c_authors := c_authors || v_author_wallet_id;
    c_prices_cents := c_prices_cents || p_item_prices_cents[i];
    c_percents := c_percents || v_royalty_percent::smallint;
    c_author_amounts_cents := c_author_amounts_cents || v_author_amount_cents;
    c_platform_amounts_cents := c_platform_amounts_cents || v_platform_amount_cents;
    c_debts_repaid_cents := c_debts_repaid_cents || v_author_debt_repaid_cents;
    c_carries_before := c_carries_before || v_carry_before_centi_cents::smallint;
    c_carries_after := c_carries_after || v_carry_after_centi_cents::smallint;
    c_item_ids := c_item_ids || p_item_ids[i];
    c_metadata := c_metadata || p_metadata[i];
    c_terms_versions := c_terms_versions || v_terms_versions[i];
    c_payees := c_payees || v_payees;
    c_paid_from_holds := c_paid_from_holds || (p_paid_from_holds[i] IS TRUE);
    v_platform_total_cents := v_platform_total_cents + v_platform_amount_cents;
    v_volume_cents := v_volume_cents + p_item_prices_cents[i];
    v_royalties_cents := v_royalties_cents + v_author_amount_cents;

    RETURN QUERY SELECT i, 'completed'::text, p_purchase_ids[i], p_request_hashes[i], p_buyer_wallet_ids[i],
      v_author_wallet_id, p_item_prices_cents[i], v_royalty_percent::smallint, v_author_amount_cents,
      v_platform_amount_cents, v_carry_before_centi_cents::smallint, v_carry_after_centi_cents::smallint, v_at,
      p_item_ids[i], p_metadata[i], v_terms_versions[i], v_payees;
  END LOOP;

  -- The platform's debt, repaid from this batch's revenue purchase by purchase, in item order.
  c_platform_debts_repaid_cents := array_fill(0::bigint, ARRAY[cardinality(c_ids)]);
  IF v_platform_in_debt AND v_platform_total_cents > 0 THEN
    v_platform := array_position(w_ids, p_platform_wallet_id);
    v_platform_debt_left_cents := least(w_debts_cents[v_platform], v_platform_total_cents);
    FOR k IN 1 .. cardinality(c_ids) LOOP
      c_platform_debts_repaid_cents[k] := least(v_platform_debt_left_cents, greatest(c_platform_amounts_cents[k], 0));
      v_platform_debt_left_cents := v_platform_debt_left_cents - c_platform_debts_repaid_cents[k];
      v_platform_debt_repaid_cents := v_platform_debt_repaid_cents + c_platform_debts_repaid_cents[k];
    END LOOP;
    w_debts_cents[v_platform] := w_debts_cents[v_platform] - v_platform_debt_repaid_cents;
    w_balances_cents[v_platform] := w_balances_cents[v_platform] + v_platform_total_cents - v_platform_debt_repaid_cents;
    w_changed[v_platform] := true;
  END IF;

  UPDATE wallets w SET balance = s.balance_cents, fractional_balance = s.carry_centi_cents, debt = s.debt_cents,
                       updated_at = v_at
    FROM unnest(w_ids, w_balances_cents, w_carries_centi_cents, w_debts_cents, w_changed)
      AS s (id, balance_cents, carry_centi_cents, debt_cents, changed)
   WHERE w.id = s.id AND s.changed;

  IF cardinality(c_ids) = 0 THEN RETURN; END IF;

  -- Split purchases whose payees' carries swept more cents than their price leave the platform a
  -- debit (ADR 0045), rare and taken back like a refund's: what its balance cannot cover becomes
  -- its debt, fronted by receivables (ADR 0017), and is named on those purchases in item order.
  -- After the rows' update above: the platform may be one of the batch's wallets.
  c_platform_debts_cents := array_fill(0::bigint, ARRAY[cardinality(c_ids)]);
  IF v_platform_total_cents < 0 THEN
    v_platform_debt_left_cents := wallet_take_back(p_wallet_id => p_platform_wallet_id,
                                                   p_amount_cents => -v_platform_total_cents, p_at => v_at);
    FOR k IN 1 .. cardinality(c_ids) LOOP
      c_platform_debts_cents[k] := least(v_platform_debt_left_cents, greatest(-c_platform_amounts_cents[k], 0));
      v_platform_debt_left_cents := v_platform_debt_left_cents - c_platform_debts_cents[k];
    END LOOP;
  END IF;

  INSERT INTO ledger_transactions (id, type, created_at)
  SELECT t.id, 'purchase', v_at FROM unnest(c_ids) AS t (id);

  INSERT INTO purchases (id, user_id, idempotency_key, request_hash, buyer_wallet_id, author_wallet_id,
                         item_price, royalty_percent, author_amount, platform_amount,
                         fractional_before, fractional_after, author_debt_repaid, platform_debt_repaid, platform_debt,
                         item_id, metadata, royalty_terms_version, paid_from_hold, created_at)
  SELECT c.id, c.user_id, c.key, c.hash, c.buyer, c.author, c.price, c.percent, c.author_amount,
         c.platform_amount, c.before, c.after, c.debt_repaid, c.platform_debt_repaid, c.platform_debt, c.item_id,
         c.metadata, c.terms_version, c.paid_from_hold, v_at
    FROM unnest(c_ids, c_users, c_keys, c_hashes, c_buyers, c_authors, c_prices_cents, c_percents, c_author_amounts_cents,
                c_platform_amounts_cents, c_carries_before, c_carries_after, c_debts_repaid_cents,
                c_platform_debts_repaid_cents, c_platform_debts_cents, c_item_ids, c_metadata, c_terms_versions,
                c_paid_from_holds)
      AS c (id, user_id, key, hash, buyer, author, price, percent, author_amount, platform_amount, before, after,
            debt_repaid, platform_debt_repaid, platform_debt, item_id, metadata, terms_version, paid_from_hold);

  -- Zero-cent legs (a 1-cent item whose royalty is all carry) post nothing. Royalty cents that
  -- repaid the author's debt go to the receivables account, not the author's wallet, and so do
  -- the platform's cents that repaid its own; receivables fronts the cents that became the
  -- platform's debt. A split purchase's author legs are its payees', posted below. A capture's
  -- price leaves the holds account, not the buyer's wallet.
  INSERT INTO ledger_entries (transaction_id, wallet_id, system_account, amount, created_at)
  SELECT leg.transaction_id, leg.wallet_id, leg.system_account, leg.amount, v_at
    FROM unnest(c_ids, c_buyers, c_authors, c_prices_cents, c_author_amounts_cents, c_platform_amounts_cents,
                c_debts_repaid_cents, c_platform_debts_repaid_cents, c_platform_debts_cents, c_terms_versions,
                c_paid_from_holds)
      AS c (id, buyer, author, price, author_amount, platform_amount, debt_repaid, platform_debt_repaid, platform_debt,
            terms_version, paid_from_hold)
   CROSS JOIN LATERAL (VALUES (c.id, CASE WHEN c.paid_from_hold THEN NULL ELSE c.buyer END,
                               CASE WHEN c.paid_from_hold THEN 'holds' END, -c.price),
                              (c.id, c.author, NULL, CASE WHEN c.terms_version IS NULL THEN c.author_amount - c.debt_repaid ELSE 0 END),
                              (c.id, NULL, 'receivables', CASE WHEN c.terms_version IS NULL THEN c.debt_repaid ELSE 0 END),
                              (c.id, p_platform_wallet_id, NULL, c.platform_amount - c.platform_debt_repaid + c.platform_debt),
                              (c.id, NULL, 'receivables', c.platform_debt_repaid - c.platform_debt))
      AS leg (transaction_id, wallet_id, system_account, amount)
   WHERE leg.amount <> 0;

  IF cardinality(cp_purchase_ids) > 0 THEN
    INSERT INTO purchase_payees (purchase_id, position, wallet_id, share_bps, part_centi_cents, amount_cents,
                                 carry_before_centi_cents, carry_after_centi_cents, debt_repaid_cents, created_at)
    SELECT p.purchase_id, p.position, p.wallet, p.share, p.part, p.amount, p.before, p.after, p.repaid, v_at
      FROM unnest(cp_purchase_ids, cp_positions, cp_wallets, cp_shares_bps, cp_parts_centi_cents, cp_amounts_cents,
                  cp_carries_before, cp_carries_after, cp_debts_repaid_cents)
        AS p (purchase_id, position, wallet, share, part, amount, before, after, repaid);

    INSERT INTO ledger_entries (transaction_id, wallet_id, system_account, amount, created_at)
    SELECT p.purchase_id, leg.wallet_id, leg.system_account, leg.amount, v_at
      FROM unnest(cp_purchase_ids, cp_wallets, cp_amounts_cents, cp_debts_repaid_cents) AS p (purchase_id, wallet, amount, repaid)
     CROSS JOIN LATERAL (VALUES (p.wallet, NULL, p.amount - p.repaid), (NULL::uuid, 'receivables', p.repaid))
        AS leg (wallet_id, system_account, amount)
     WHERE leg.amount <> 0;
  END IF;

  -- The platform is every purchase's payee: its credits go to this connection's slot, not its
  -- wallet row, so purchases never queue on that row (ADR 0013), unless it is in debt (credited
  -- above, on its row). A debit was taken back above.
  IF v_platform_total_cents > 0 AND NOT v_platform_in_debt THEN
    INSERT INTO wallet_balance_slots AS s (wallet_id, slot, balance)
    VALUES (p_platform_wallet_id, stat_slot(), v_platform_total_cents)
    ON CONFLICT (wallet_id, slot) DO UPDATE SET balance = s.balance + excluded.balance;
  END IF;

  PERFORM totals_add(p_at => v_at, p_purchase_volume_cents => v_volume_cents, p_royalties_cents => v_royalties_cents,
                     p_platform_revenue_cents => v_platform_total_cents, p_purchase_count => cardinality(c_ids));

  -- Per author (per payee for split purchases) and hour: each payee's sale counts with its own cents.
  INSERT INTO author_hourly_rollups AS a (author_wallet_id, bucket_start, sales_count, gross_volume, royalty)
  SELECT s.author, date_trunc('hour', v_at, 'UTC'), count(*), sum(s.price), sum(s.author_amount)
    FROM (SELECT c.author, c.price, c.author_amount
            FROM unnest(c_authors, c_prices_cents, c_author_amounts_cents, c_terms_versions)
              AS c (author, price, author_amount, terms_version)
           WHERE c.terms_version IS NULL
          UNION ALL
          SELECT p.wallet, p.price, p.amount FROM unnest(cp_wallets, cp_prices_cents, cp_amounts_cents) AS p (wallet, price, amount)) AS s
   GROUP BY s.author
   ORDER BY s.author
  ON CONFLICT (author_wallet_id, bucket_start) DO UPDATE SET
    sales_count = a.sales_count + excluded.sales_count,
    gross_volume = a.gross_volume + excluded.gross_volume,
    royalty = a.royalty + excluded.royalty;

  -- The same per item (ADR 0066), for the purchases that name one: a batch without any skips it.
  IF cardinality(array_remove(c_item_ids, NULL)) > 0 THEN
    INSERT INTO item_author_hourly_rollups AS a (item_id, author_wallet_id, bucket_start, sales_count, gross_volume, royalty)
    SELECT s.item_id, s.author, date_trunc('hour', v_at, 'UTC'), count(*), sum(s.price), sum(s.author_amount)
      FROM (SELECT c.item_id, c.author, c.price, c.author_amount
              FROM unnest(c_item_ids, c_authors, c_prices_cents, c_author_amounts_cents, c_terms_versions)
                AS c (item_id, author, price, author_amount, terms_version)
             WHERE c.item_id IS NOT NULL AND c.terms_version IS NULL
            UNION ALL
            SELECT p.item_id, p.wallet, p.price, p.amount
              FROM unnest(cp_item_ids, cp_wallets, cp_prices_cents, cp_amounts_cents) AS p (item_id, wallet, price, amount)) AS s
     GROUP BY s.item_id, s.author
     ORDER BY s.item_id, s.author
    ON CONFLICT (item_id, bucket_start, author_wallet_id) DO UPDATE SET
      sales_count = a.sales_count + excluded.sales_count,
      gross_volume = a.gross_volume + excluded.gross_volume,
      royalty = a.royalty + excluded.royalty;
  END IF;

  -- The outbox (ADR 0030): one purchase.completed per completed purchase, one statement for the
  -- batch. data is the purchase as toPurchaseDto returns it (test/e2e/events.e2e.spec.ts checks).
  PERFORM events_append(
    p_type => 'purchase.completed', p_wallet_ids => c_buyers, p_counterparty_wallet_ids => c_authors,
    p_data => ARRAY(
      SELECT json_build_object('id', c.id, 'idempotencyKey', c.key, 'buyerWalletId', c.buyer,
                               'authorWalletId', c.author, 'itemPrice', c.price, 'authorAmount', c.author_amount,
                               'platformAmount', c.platform_amount, 'status', 'completed', 'refundedAmount', 0,
                               'refunds', json_build_array(), 'itemId', c.item_id, 'metadata', c.metadata,
                               'royaltyTermsVersion', c.terms_version, 'payees', c.payees,
                               'createdAt', v_at_text)
        FROM unnest(c_ids, c_keys, c_buyers, c_authors, c_prices_cents, c_author_amounts_cents, c_platform_amounts_cents,
                    c_item_ids, c_metadata, c_terms_versions, c_payees)
          WITH ORDINALITY AS c (id, key, buyer, author, price, author_amount, platform_amount, item_id, metadata,
                                terms_version, payees, ordinal)
       ORDER BY c.ordinal),
    p_at => v_at);

  -- The event names the first payee as its counterparty; the other payees of a split purchase
  -- read it through event_parties (ADR 0067). Batches without one skip this.
  IF cardinality(array_remove(cp_positions, 1::smallint)) > 0 THEN
    INSERT INTO event_parties (wallet_id, xid, seq, event_id)
    SELECT p.wallet, e.xid, e.seq, e.id
      FROM unnest(cp_purchase_ids, cp_positions, cp_wallets) AS p (purchase_id, position, wallet)
      JOIN events e ON e.xid = pg_current_xact_id() AND e.type = 'purchase.completed'
                   AND (e.data ->> 'id')::uuid = p.purchase_id
     WHERE p.position > 1
     ORDER BY p.wallet, e.seq;
  END IF;
END
$$;
