-- The SQL work of one purchase in the service: one call of purchase_execute with a fresh
-- purchase id and idempotency key, a random funded buyer, a random author among the first
-- :authors (1 = the hot-author variant) and a random price of 1..5000 cents. Buyers and
-- authors come from the bench_buyers and bench_authors mapping tables (numbered from 1);
-- :buyers, :authors and :platform (the platform wallet id) are given with -D.
\set b random(1, :buyers)
\set a random(1, :authors)
\set price random(1, 5000)
SELECT * FROM purchase_execute(gen_random_uuid(), (SELECT user_id FROM bench_buyers WHERE n = :b), gen_random_uuid()::text, 'h', (SELECT id FROM bench_buyers WHERE n = :b), (SELECT id FROM bench_authors WHERE n = :a), :price, 70, :platform);
