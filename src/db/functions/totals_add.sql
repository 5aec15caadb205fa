-- Adds an operation's (or a batch's) figures to the running totals and its UTC hour's rollup.
-- Both are written in the caller's slot. Callers name what they add; the rest defaults to zero:
--   PERFORM totals_add(p_at => v_at, p_deposited_cents => v_total_cents);
-- PL/pgSQL, not SQL, so that its two statements are planned once per connection (ADR 0065).
CREATE OR REPLACE FUNCTION totals_add(
  p_at timestamptz,
  p_deposited_cents bigint DEFAULT 0,
  p_withdrawn_cents bigint DEFAULT 0,
  p_purchase_volume_cents bigint DEFAULT 0,
  p_royalties_cents bigint DEFAULT 0,
  p_platform_revenue_cents bigint DEFAULT 0,
  p_purchase_count bigint DEFAULT 0,
  p_refunded_cents bigint DEFAULT 0,
  p_royalties_refunded_cents bigint DEFAULT 0,
  p_platform_revenue_refunded_cents bigint DEFAULT 0,
  p_refund_count bigint DEFAULT 0,
  p_payouts_paid_cents bigint DEFAULT 0,
  p_payouts_failed_cents bigint DEFAULT 0
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO running_totals AS t
    (slot, deposited, withdrawn, purchase_volume, royalties, platform_revenue, purchase_count,
     refunded, royalties_refunded, platform_revenue_refunded, refund_count, payouts_paid, payouts_failed)
  VALUES (stat_slot(), p_deposited_cents, p_withdrawn_cents, p_purchase_volume_cents, p_royalties_cents,
          p_platform_revenue_cents, p_purchase_count, p_refunded_cents, p_royalties_refunded_cents,
          p_platform_revenue_refunded_cents, p_refund_count, p_payouts_paid_cents, p_payouts_failed_cents)
  ON CONFLICT (slot) DO UPDATE SET
    deposited = t.deposited + excluded.deposited,
    withdrawn = t.withdrawn + excluded.withdrawn,
    purchase_volume = t.purchase_volume + excluded.purchase_volume,
    royalties = t.royalties + excluded.royalties,
    platform_revenue = t.platform_revenue + excluded.platform_revenue,
    purchase_count = t.purchase_count + excluded.purchase_count,
    refunded = t.refunded + excluded.refunded,
    royalties_refunded = t.royalties_refunded + excluded.royalties_refunded,
    platform_revenue_refunded = t.platform_revenue_refunded + excluded.platform_revenue_refunded,
    refund_count = t.refund_count + excluded.refund_count,
    payouts_paid = t.payouts_paid + excluded.payouts_paid,
    payouts_failed = t.payouts_failed + excluded.payouts_failed;
  INSERT INTO hourly_rollups AS r
    (bucket_start, slot, deposited, withdrawn, purchase_volume, royalties, platform_revenue, purchase_count,
     refunded, royalties_refunded, platform_revenue_refunded, refund_count, payouts_paid, payouts_failed)
  VALUES (date_trunc('hour', p_at, 'UTC'), stat_slot(), p_deposited_cents, p_withdrawn_cents,
          p_purchase_volume_cents, p_royalties_cents, p_platform_revenue_cents, p_purchase_count,
          p_refunded_cents, p_royalties_refunded_cents, p_platform_revenue_refunded_cents, p_refund_count,
          p_payouts_paid_cents, p_payouts_failed_cents)
  ON CONFLICT (bucket_start, slot) DO UPDATE SET
    deposited = r.deposited + excluded.deposited,
    withdrawn = r.withdrawn + excluded.withdrawn,
    purchase_volume = r.purchase_volume + excluded.purchase_volume,
    royalties = r.royalties + excluded.royalties,
    platform_revenue = r.platform_revenue + excluded.platform_revenue,
    purchase_count = r.purchase_count + excluded.purchase_count,
    refunded = r.refunded + excluded.refunded,
    royalties_refunded = r.royalties_refunded + excluded.royalties_refunded,
    platform_revenue_refunded = r.platform_revenue_refunded + excluded.platform_revenue_refunded,
    refund_count = r.refund_count + excluded.refund_count,
    payouts_paid = r.payouts_paid + excluded.payouts_paid,
    payouts_failed = r.payouts_failed + excluded.payouts_failed;
END
$$;
