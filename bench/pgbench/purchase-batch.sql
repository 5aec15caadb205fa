-- The SQL work of one group-committed batch of purchases, as the service's purchase batcher
-- sends it: one call of purchase_execute_batch with :batch purchases, each with a fresh id and
-- key, a random funded buyer, a random author among the first :authors and a random price of
-- 1..5000 cents. Purchases per second = tps * :batch.
WITH picks AS MATERIALIZED (
  SELECT g, (1 + floor(random() * :buyers))::int AS buyer_n, (1 + floor(random() * :authors))::int AS author_n,
         (1 + floor(random() * 5000))::bigint AS price
    FROM generate_series(1, :batch) g
), items AS (
  SELECT p.g, b.user_id, b.id AS buyer_id, a.id AS author_id, p.price
    FROM picks p JOIN bench_buyers b ON b.n = p.buyer_n JOIN bench_authors a ON a.n = p.author_n
)
SELECT count(*) FROM purchase_execute_batch(
  p_purchase_ids => (SELECT array_agg(gen_random_uuid() ORDER BY g) FROM items),
  p_user_ids => (SELECT array_agg(user_id ORDER BY g) FROM items),
  p_idempotency_keys => (SELECT array_agg(gen_random_uuid()::text ORDER BY g) FROM items),
  p_request_hashes => (SELECT array_agg('h'::text ORDER BY g) FROM items),
  p_buyer_wallet_ids => (SELECT array_agg(buyer_id ORDER BY g) FROM items),
  p_author_wallet_ids => (SELECT array_agg(author_id ORDER BY g) FROM items),
  p_item_prices_cents => (SELECT array_agg(price ORDER BY g) FROM items),
  p_royalty_percent => 70, p_platform_wallet_id => :platform);
