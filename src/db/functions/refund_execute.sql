-- The one implementation of a refund: gives the buyer cents back and takes them from the sale's payees.
-- The author side gives up exactly amount * royalty_percent centi-cents of its position
-- 100 * (balance - debt) + fractional_balance; whole cents and carry are derived from the new
-- position, so partial refunds adding up to the price end where one full refund ends. What a payee
-- cannot cover becomes its debt, fronted by the receivables account (ADR 0017).
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
  PERFORM 1 FROM wallets w
   WHERE w.id IN (v_purchase.buyer_wallet_id, v_purchase.author_wallet_id)
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
  v_platform_amount_cents := v_amount_cents - v_author_amount_cents;

  v_author_debt_cents := wallet_take_back(p_wallet_id => v_purchase.author_wallet_id,
                                          p_amount_cents => v_author_amount_cents, p_at => v_at);
  UPDATE wallets w SET fractional_balance = v_carry_after_centi_cents, updated_at = v_at
   WHERE w.id = v_purchase.author_wallet_id;
  v_platform_debt_cents := wallet_take_back(p_wallet_id => p_platform_wallet_id,
                                            p_amount_cents => v_platform_amount_cents, p_at => v_at);
  v_buyer_debt_repaid_cents := (wallet_credit(p_wallet_id => v_purchase.buyer_wallet_id, p_amount_cents => v_amount_cents,
                                               p_at => v_at)).debt_repaid_cents;

  INSERT INTO ledger_transactions (id, type, created_at) VALUES (p_refund_id, 'refund', v_at);
  INSERT INTO refunds (id, purchase_id, user_id, idempotency_key, request_hash, amount, royalty_percent,
                       author_amount, platform_amount, fractional_before, fractional_after, author_debt,
                       platform_debt, buyer_debt_repaid, reason, created_at)
  VALUES (p_refund_id, p_purchase_id, p_user_id, p_idempotency_key, p_request_hash, v_amount_cents,
          v_purchase.royalty_percent, v_author_amount_cents, v_platform_amount_cents, v_carry_before_centi_cents,
          v_carry_after_centi_cents, v_author_debt_cents, v_platform_debt_cents, v_buyer_debt_repaid_cents,
          p_reason, v_at);
  -- Cents a payee could not cover, and buyer debt the refund repaid, post to receivables.
  INSERT INTO ledger_entries (transaction_id, wallet_id, system_account, amount, created_at)
  SELECT p_refund_id, leg.wallet_id, leg.system_account, leg.amount, v_at
    FROM (VALUES (v_purchase.buyer_wallet_id, NULL, v_amount_cents - v_buyer_debt_repaid_cents),
                 (NULL::uuid, 'receivables', v_buyer_debt_repaid_cents),
                 (v_purchase.author_wallet_id, NULL, v_author_debt_cents - v_author_amount_cents),
                 (NULL::uuid, 'receivables', -v_author_debt_cents),
                 (p_platform_wallet_id, NULL, v_platform_debt_cents - v_platform_amount_cents),
                 (NULL::uuid, 'receivables', -v_platform_debt_cents)) AS leg (wallet_id, system_account, amount)
   WHERE leg.amount <> 0;

  PERFORM totals_add(p_at => v_at, p_refunded_cents => v_amount_cents, p_royalties_refunded_cents => v_author_amount_cents,
                     p_platform_revenue_refunded_cents => v_platform_amount_cents, p_refund_count => 1);
  INSERT INTO author_hourly_rollups AS a (author_wallet_id, bucket_start, refunded_volume, royalty_refunded)
  VALUES (v_purchase.author_wallet_id, date_trunc('hour', v_at, 'UTC'), v_amount_cents, v_author_amount_cents)
  ON CONFLICT (author_wallet_id, bucket_start) DO UPDATE SET
    refunded_volume = a.refunded_volume + excluded.refunded_volume,
    royalty_refunded = a.royalty_refunded + excluded.royalty_refunded;

  -- The outbox (ADR 0030): data is the refund as toRefundDto returns it.
  PERFORM events_append(
    p_type => 'refund.created', p_wallet_ids => ARRAY[v_purchase.buyer_wallet_id],
    p_counterparty_wallet_ids => ARRAY[v_purchase.author_wallet_id],
    p_data => ARRAY[json_build_object('id', p_refund_id, 'purchaseId', p_purchase_id, 'amount', v_amount_cents,
                                      'authorAmount', v_author_amount_cents, 'platformAmount', v_platform_amount_cents,
                                      'reason', p_reason, 'createdAt', api_instant(v_at))],
    p_at => v_at);

  RETURN QUERY SELECT 'completed'::text, p_refund_id, p_request_hash, p_purchase_id, v_amount_cents,
    v_author_amount_cents, v_platform_amount_cents, v_purchase.royalty_percent, v_carry_before_centi_cents::smallint,
    v_carry_after_centi_cents::smallint, p_reason, v_at, v_remaining_cents - v_amount_cents;
END
$$;
