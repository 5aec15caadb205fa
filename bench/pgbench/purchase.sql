-- The SQL work of one purchase in the service: a batch of one through purchase_execute_batch, with a fresh
-- purchase id and idempotency key, a random funded buyer, a random author among the first
-- :authors (1 = the hot-author variant) and a random price of 1..5000 cents. Buyers and
-- authors come from the bench_buyers and bench_authors mapping tables (numbered from 1);
-- :buyers, :authors and :platform (the platform wallet id) are given with -D.
\set b random(1, :buyers)
\set a random(1, :authors)
\set price random(1, 5000)
SELECT count(*) FROM purchase_execute_batch(
  p_purchase_ids => ARRAY[gen_random_uuid()],
  p_user_ids => ARRAY[(SELECT user_id FROM bench_buyers WHERE n = :b)],
  p_idempotency_keys => ARRAY[gen_random_uuid()::text],
  p_request_hashes => ARRAY['h'],
  p_buyer_wallet_ids => ARRAY[(SELECT id FROM bench_buyers WHERE n = :b)],
  p_author_wallet_ids => ARRAY[(SELECT id FROM bench_authors WHERE n = :a)],
  p_item_prices_cents => ARRAY[:price::bigint],
  p_royalty_percent => 70, p_platform_wallet_id => :platform);
