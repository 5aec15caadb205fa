-- The one implementation of a refund: gives the buyer cents back and takes them from the sale's payees.
-- The author side gives up exactly amount * royalty_percent centi-cents of its position
-- 100 * (balance - debt) + fractional_balance; whole cents and carry are derived from the new
-- position, so partial refunds adding up to the price end where one full refund ends. What a payee
-- cannot cover becomes its debt, fronted by the receivables account (ADR 0017).
-- A split purchase (ADR 0045) takes back from each payee the difference of royalty_parts of the
-- cumulative refunded amount after and before this refund, each from its own position, so a full
-- refund takes back exactly what each payee was given; refund_payees records each part.
-- p_amount_cents NULL means everything not yet refunded. outcome: completed | replayed |
-- purchase_not_found | exceeds_remaining (remaining_cents says how much is left).
CREATE OR REPLACE FUNCTION refund_execute(
  p_refund_id uuid, p_user_id uuid, p_idempotency_key text, p_request_hash text, p_purchase_id uuid,
  p_amount_cents bigint, p_reason text, p_platform_wallet_id uuid
) RETURNS TABLE (
  outcome text, id uuid, request_hash text, purchase_id uuid, amount bigint, author_amount bigint,
  platform_amount bigint, royalty_percent smallint, fractional_before smallint, fractional_after smallint,
  reason text, created_at timestamptz, remaining_cents bigint
) LANGUAGE plpgsql AS $$
#variable_conflict use_column
DECLARE
  v_at timestamptz := now()::timestamptz(3);
  v_purchase purchases%ROWTYPE;
  v_remaining_cents bigint;
  v_amount_cents bigint;
  v_carry_before_centi_cents integer;
  v_beyond_carry_centi_cents bigint;
  v_author_amount_cents bigint;
  v_carry_after_centi_cents integer;
  v_platform_amount_cents bigint;
  v_author_debt_cents bigint;
  v_platform_debt_cents bigint;
  v_buyer_debt_repaid_cents bigint;
  v_payee_ids uuid[] := '{}';
  v_shares_bps integer[];
  v_parts_before bigint[];
  v_parts_after bigint[];
  v_payee_part bigint;
  v_payee_carry_before integer;
  v_payee_beyond bigint;
  v_payee_cents bigint;
  v_payee_carry_after integer;
  v_payee_debt bigint;
  v_payee_repaid bigint;
  v_platform_credit_cents bigint;
  v_platform_debt_repaid_cents bigint := 0;
  cp_positions smallint[] := '{}';
  cp_parts bigint[] := '{}';
  cp_cents bigint[] := '{}';
  cp_before smallint[] := '{}';
  cp_after smallint[] := '{}';
  cp_debts bigint[] := '{}';
  cp_repaid bigint[] := '{}';
BEGIN
  -- A retry of a refund that already committed takes no locks.
  RETURN QUERY
    SELECT 'replayed'::text, r.id, r.request_hash, r.purchase_id, r.amount, r.author_amount, r.platform_amount,
           r.royalty_percent, r.fractional_before, r.fractional_after, r.reason, r.created_at, NULL::bigint
      FROM refunds r WHERE r.user_id = p_user_id AND r.idempotency_key = p_idempotency_key;
  IF FOUND THEN RETURN; END IF;

  SELECT * INTO v_purchase FROM purchases p WHERE p.id = p_purchase_id;
  IF NOT FOUND THEN
    RETURN QUERY SELECT 'purchase_not_found'::text, NULL::uuid, NULL::text, NULL::uuid, NULL::bigint, NULL::bigint,
      NULL::bigint, NULL::smallint, NULL::smallint, NULL::smallint, NULL::text, NULL::timestamptz, NULL::bigint;
    RETURN;
  END IF;

  -- Buyer and author in id order, the global lock order. Every refund of this purchase takes the
  -- author's lock, so the refunded total below cannot change until this one commits. The
  -- platform's part comes from this connection's slot (wallet_take_back), without its row lock.
  IF v_purchase.royalty_terms_version IS NOT NULL THEN
    SELECT array_agg(pp.wallet_id ORDER BY pp.position), array_agg(pp.share_bps ORDER BY pp.position)
      INTO v_payee_ids, v_shares_bps
      FROM purchase_payees pp WHERE pp.purchase_id = p_purchase_id;
  END IF;
  PERFORM 1 FROM wallets w
   WHERE w.id = ANY (ARRAY[v_purchase.buyer_wallet_id, v_purchase.author_wallet_id] || v_payee_ids)
   ORDER BY w.id FOR UPDATE;

  -- Under the lock: a same-key refund that committed while this one waited is a replay.
  RETURN QUERY
    SELECT 'replayed'::text, r.id, r.request_hash, r.purchase_id, r.amount, r.author_amount, r.platform_amount,
           r.royalty_percent, r.fractional_before, r.fractional_after, r.reason, r.created_at, NULL::bigint
      FROM refunds r WHERE r.user_id = p_user_id AND r.idempotency_key = p_idempotency_key;
  IF FOUND THEN RETURN; END IF;

  SELECT v_purchase.item_price - coalesce(sum(r.amount), 0) INTO v_remaining_cents
    FROM refunds r WHERE r.purchase_id = p_purchase_id;
  v_amount_cents := coalesce(p_amount_cents, v_remaining_cents);
  IF v_amount_cents < 1 OR v_amount_cents > v_remaining_cents THEN
    RETURN QUERY SELECT 'exceeds_remaining'::text, NULL::uuid, NULL::text, NULL::uuid, NULL::bigint, NULL::bigint,
      NULL::bigint, NULL::smallint, NULL::smallint, NULL::smallint, NULL::text, NULL::timestamptz, v_remaining_cents;
    RETURN;
  END IF;

  IF v_purchase.royalty_terms_version IS NULL THEN
    -- The author's position drops by exactly amount * percent centi-cents: first out of the carry,
    -- then in whole cents, rounded up so that the new carry stays in 0..99.
    SELECT w.fractional_balance INTO v_carry_before_centi_cents FROM wallets w WHERE w.id = v_purchase.author_wallet_id;
    v_beyond_carry_centi_cents := v_amount_cents * v_purchase.royalty_percent - v_carry_before_centi_cents;
    IF v_beyond_carry_centi_cents <= 0 THEN
      v_author_amount_cents := 0;
      v_carry_after_centi_cents := (-v_beyond_carry_centi_cents)::integer;
    ELSE
      v_author_amount_cents := (v_beyond_carry_centi_cents + 99) / 100;
      v_carry_after_centi_cents := (100 * v_author_amount_cents - v_beyond_carry_centi_cents)::integer;
    END IF;

    v_author_debt_cents := wallet_take_back(p_wallet_id => v_purchase.author_wallet_id,
                                            p_amount_cents => v_author_amount_cents, p_at => v_at);
    UPDATE wallets w SET fractional_balance = v_carry_after_centi_cents, updated_at = v_at
     WHERE w.id = v_purchase.author_wallet_id;
  ELSE
    -- Each payee gives up the growth of its part of the cumulative refund; the same rounding as
    -- one author's, from its own carry. A part may shrink by a centi-cent (largest remainder is
    -- not monotone): that payee is then credited, the carry swept as on a purchase.
    v_parts_before := royalty_parts(p_total_centi_cents => (v_purchase.item_price - v_remaining_cents) * v_purchase.royalty_percent,
                                    p_shares_bps => v_shares_bps);
    v_parts_after := royalty_parts(p_total_centi_cents => (v_purchase.item_price - v_remaining_cents + v_amount_cents) * v_purchase.royalty_percent,
                                   p_shares_bps => v_shares_bps);
    v_author_amount_cents := 0;
    v_carry_before_centi_cents := 0;
    v_carry_after_centi_cents := 0;
    v_author_debt_cents := 0;
    FOR j IN 1 .. cardinality(v_payee_ids) LOOP
      v_payee_part := v_parts_after[j] - v_parts_before[j];
      SELECT w.fractional_balance INTO v_payee_carry_before FROM wallets w WHERE w.id = v_payee_ids[j];
      v_payee_beyond := v_payee_part - v_payee_carry_before;
      v_payee_cents := CASE WHEN v_payee_beyond > 0 THEN (v_payee_beyond + 99) / 100 ELSE -((-v_payee_beyond) / 100) END;
      v_payee_carry_after := (100 * v_payee_cents - v_payee_beyond)::integer;
      v_payee_debt := 0;
      v_payee_repaid := 0;
      IF v_payee_cents >= 0 THEN
        v_payee_debt := wallet_take_back(p_wallet_id => v_payee_ids[j], p_amount_cents => v_payee_cents, p_at => v_at);
        UPDATE wallets w SET fractional_balance = v_payee_carry_after, updated_at = v_at WHERE w.id = v_payee_ids[j];
      ELSE
        v_payee_repaid := (wallet_credit(p_wallet_id => v_payee_ids[j], p_amount_cents => -v_payee_cents, p_at => v_at,
                                         p_carry_centi_cents => v_payee_carry_after)).debt_repaid_cents;
      END IF;
      cp_positions := cp_positions || j::smallint;
      cp_parts := cp_parts || v_payee_part;
      cp_cents := cp_cents || v_payee_cents;
      cp_before := cp_before || v_payee_carry_before::smallint;
      cp_after := cp_after || v_payee_carry_after::smallint;
      cp_debts := cp_debts || v_payee_debt;
      cp_repaid := cp_repaid || v_payee_repaid;
      v_author_amount_cents := v_author_amount_cents + v_payee_cents;
      v_carry_before_centi_cents := v_carry_before_centi_cents + v_payee_carry_before;
      v_carry_after_centi_cents := v_carry_after_centi_cents + v_payee_carry_after;
      v_author_debt_cents := v_author_debt_cents + v_payee_debt;
    END LOOP;
  END IF;
  v_platform_amount_cents := v_amount_cents - v_author_amount_cents;

  IF v_platform_amount_cents >= 0 THEN
    v_platform_debt_cents := wallet_take_back(p_wallet_id => p_platform_wallet_id,
                                              p_amount_cents => v_platform_amount_cents, p_at => v_at);
  ELSE
    -- Split payees gave up more whole cents than the refund (their carries grew): the platform
    -- gets them. They repay its debt first, as every credit does (ADR 0017): on its row, locked
    -- here, when it is in debt; through this connection's slot otherwise.
    v_platform_debt_cents := 0;
    v_platform_credit_cents := -v_platform_amount_cents;
    IF EXISTS (SELECT 1 FROM wallets w WHERE w.id = p_platform_wallet_id AND w.debt > 0) THEN
      v_platform_debt_repaid_cents := (wallet_credit(p_wallet_id => p_platform_wallet_id, p_amount_cents => v_platform_credit_cents,
                                                     p_at => v_at)).debt_repaid_cents;
    ELSE
      INSERT INTO wallet_balance_slots AS s (wallet_id, slot, balance)
      VALUES (p_platform_wallet_id, stat_slot(), v_platform_credit_cents)
      ON CONFLICT (wallet_id, slot) DO UPDATE SET balance = s.balance + excluded.balance;
    END IF;
  END IF;
  v_buyer_debt_repaid_cents := (wallet_credit(p_wallet_id => v_purchase.buyer_wallet_id, p_amount_cents => v_amount_cents,
                                               p_at => v_at)).debt_repaid_cents;

  INSERT INTO ledger_transactions (id, type, created_at) VALUES (p_refund_id, 'refund', v_at);
  INSERT INTO refunds (id, purchase_id, user_id, idempotency_key, request_hash, amount, royalty_percent,
                       author_amount, platform_amount, fractional_before, fractional_after, author_debt,
                       platform_debt, buyer_debt_repaid, platform_debt_repaid, reason, royalty_terms_version, created_at)
  VALUES (p_refund_id, p_purchase_id, p_user_id, p_idempotency_key, p_request_hash, v_amount_cents,
          v_purchase.royalty_percent, v_author_amount_cents, v_platform_amount_cents, v_carry_before_centi_cents,
          v_carry_after_centi_cents, v_author_debt_cents, v_platform_debt_cents, v_buyer_debt_repaid_cents,
          v_platform_debt_repaid_cents,
          p_reason, v_purchase.royalty_terms_version, v_at);
  IF v_purchase.royalty_terms_version IS NOT NULL THEN
    INSERT INTO refund_payees (refund_id, position, wallet_id, part_centi_cents, amount_cents, carry_before_centi_cents,
                               carry_after_centi_cents, debt_cents, debt_repaid_cents, created_at)
    SELECT p_refund_id, p.position, v_payee_ids[p.position], p.part, p.cents, p.before, p.after, p.debt, p.repaid, v_at
      FROM unnest(cp_positions, cp_parts, cp_cents, cp_before, cp_after, cp_debts, cp_repaid)
        AS p (position, part, cents, before, after, debt, repaid);
    -- Each payee's legs: what left (or reached) its balance, and debt to or from receivables.
    INSERT INTO ledger_entries (transaction_id, wallet_id, system_account, amount, created_at)
    SELECT p_refund_id, leg.wallet_id, leg.system_account, leg.amount, v_at
      FROM unnest(cp_positions, cp_cents, cp_debts, cp_repaid) AS p (position, cents, debt, repaid)
     CROSS JOIN LATERAL (VALUES (v_payee_ids[p.position], NULL, p.debt - p.cents - p.repaid),
                                (NULL::uuid, 'receivables', p.repaid - p.debt)) AS leg (wallet_id, system_account, amount)
     WHERE leg.amount <> 0;
  END IF;
  -- Cents a payee could not cover, and the buyer's or the platform's debt the refund repaid, post
  -- to receivables.
  INSERT INTO ledger_entries (transaction_id, wallet_id, system_account, amount, created_at)
  SELECT p_refund_id, leg.wallet_id, leg.system_account, leg.amount, v_at
    FROM (VALUES (v_purchase.buyer_wallet_id, NULL, v_amount_cents - v_buyer_debt_repaid_cents),
                 (NULL::uuid, 'receivables', v_buyer_debt_repaid_cents),
                 (v_purchase.author_wallet_id, NULL,
                  CASE WHEN v_purchase.royalty_terms_version IS NULL THEN v_author_debt_cents - v_author_amount_cents ELSE 0 END),
                 (NULL::uuid, 'receivables', CASE WHEN v_purchase.royalty_terms_version IS NULL THEN -v_author_debt_cents ELSE 0 END),
                 (p_platform_wallet_id, NULL, v_platform_debt_cents - v_platform_amount_cents - v_platform_debt_repaid_cents),
                 (NULL::uuid, 'receivables', v_platform_debt_repaid_cents - v_platform_debt_cents)) AS leg (wallet_id, system_account, amount)
   WHERE leg.amount <> 0;

  PERFORM totals_add(p_at => v_at, p_refunded_cents => v_amount_cents, p_royalties_refunded_cents => v_author_amount_cents,
                     p_platform_revenue_refunded_cents => v_platform_amount_cents, p_refund_count => 1);
  -- Per author, or per payee of a split purchase with its own cents.
  INSERT INTO author_hourly_rollups AS a (author_wallet_id, bucket_start, refunded_volume, royalty_refunded)
  SELECT v_purchase.author_wallet_id, date_trunc('hour', v_at, 'UTC'), v_amount_cents, v_author_amount_cents
   WHERE v_purchase.royalty_terms_version IS NULL
  UNION ALL
  SELECT v_payee_ids[p.position], date_trunc('hour', v_at, 'UTC'), v_amount_cents, p.cents
    FROM unnest(cp_positions, cp_cents) AS p (position, cents)
   ORDER BY 1
  ON CONFLICT (author_wallet_id, bucket_start) DO UPDATE SET
    refunded_volume = a.refunded_volume + excluded.refunded_volume,
    royalty_refunded = a.royalty_refunded + excluded.royalty_refunded;

  -- The same per item (ADR 0066), only for purchases that name one.
  IF v_purchase.item_id IS NOT NULL THEN
    INSERT INTO item_author_hourly_rollups AS a (item_id, author_wallet_id, bucket_start, refunded_volume, royalty_refunded)
    SELECT v_purchase.item_id, v_purchase.author_wallet_id, date_trunc('hour', v_at, 'UTC'), v_amount_cents, v_author_amount_cents
     WHERE v_purchase.royalty_terms_version IS NULL
    UNION ALL
    SELECT v_purchase.item_id, v_payee_ids[p.position], date_trunc('hour', v_at, 'UTC'), v_amount_cents, p.cents
      FROM unnest(cp_positions, cp_cents) AS p (position, cents)
     ORDER BY 2
    ON CONFLICT (item_id, bucket_start, author_wallet_id) DO UPDATE SET
      refunded_volume = a.refunded_volume + excluded.refunded_volume,
      royalty_refunded = a.royalty_refunded + excluded.royalty_refunded;
  END IF;

  -- The outbox (ADR 0030): data is the refund as toRefundDto returns it.
  PERFORM events_append(
    p_type => 'refund.created', p_wallet_ids => ARRAY[v_purchase.buyer_wallet_id],
    p_counterparty_wallet_ids => ARRAY[v_purchase.author_wallet_id],
    p_data => ARRAY[json_build_object('id', p_refund_id, 'purchaseId', p_purchase_id, 'amount', v_amount_cents,
                                      'authorAmount', v_author_amount_cents, 'platformAmount', v_platform_amount_cents,
                                      'reason', p_reason, 'createdAt', api_instant(v_at))],
    p_at => v_at);
  -- The payees after the first of a split purchase read the event through event_parties (ADR 0067).
  IF cardinality(v_payee_ids) > 1 THEN
    INSERT INTO event_parties (wallet_id, xid, seq, event_id)
    SELECT w.wallet, e.xid, e.seq, e.id
      FROM unnest(v_payee_ids[2:]) AS w (wallet)
      JOIN events e ON e.xid = pg_current_xact_id() AND e.type = 'refund.created' AND (e.data ->> 'id')::uuid = p_refund_id
     ORDER BY w.wallet;
  END IF;

  RETURN QUERY SELECT 'completed'::text, p_refund_id, p_request_hash, p_purchase_id, v_amount_cents,
    v_author_amount_cents, v_platform_amount_cents, v_purchase.royalty_percent, v_carry_before_centi_cents::smallint,
    v_carry_after_centi_cents::smallint, p_reason, v_at, v_remaining_cents - v_amount_cents;
END
$$;
