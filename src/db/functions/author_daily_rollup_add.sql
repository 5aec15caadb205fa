-- Adds a change of one author-hour to its UTC day's row (used by the trigger below, ADR 0021).
-- PL/pgSQL, not SQL: the trigger calls it once per author-hour row, and PostgreSQL 15 parses and
-- plans an SQL function's body on every call, where PL/pgSQL keeps the plan (ADR 0065).
CREATE OR REPLACE FUNCTION author_daily_rollup_add(
  p_author_wallet_id uuid, p_at timestamptz, p_sales_count bigint, p_gross_volume_cents bigint, p_royalty_cents bigint,
  p_refunded_volume_cents bigint, p_royalty_refunded_cents bigint
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO author_daily_rollups AS d
    (author_wallet_id, day_start, sales_count, gross_volume, royalty, refunded_volume, royalty_refunded)
  VALUES (p_author_wallet_id, date_trunc('day', p_at, 'UTC'), p_sales_count, p_gross_volume_cents, p_royalty_cents,
          p_refunded_volume_cents, p_royalty_refunded_cents)
  ON CONFLICT (author_wallet_id, day_start) DO UPDATE SET
    sales_count = d.sales_count + excluded.sales_count,
    gross_volume = d.gross_volume + excluded.gross_volume,
    royalty = d.royalty + excluded.royalty,
    refunded_volume = d.refunded_volume + excluded.refunded_volume,
    royalty_refunded = d.royalty_refunded + excluded.royalty_refunded;
END
$$;
