#!/usr/bin/env bash
# `npm run bench:sql -- [git-ref ...]` (default: HEAD): how many CPU instructions PostgreSQL
# spends per purchase at each commit, counted by valgrind's callgrind. Instruction counts do not
# move with the machine's load, so commits compare on a busy machine where throughput figures
# swing by ±20% (docs/benchmarks.md, "SQL work per purchase").
#
# For each ref: a database built from that commit's drizzle/ migrations, 1000 funded buyers and
# 100 authors, filled with BENCH_SQL_FILL_BATCHES batches first (plans and indexes as on a
# used database, not an empty one), then a single-user PostgreSQL under callgrind runs that
# commit's bench/pgbench/purchase-batch.sql BENCH_SQL_BATCHES times (batches of 32). The
# figure is (instructions of the whole run − instructions of its warm-up alone) / purchases.
# Needs valgrind, pgbench and the PostgreSQL server binaries (PG_BIN, default
# /usr/lib/postgresql/15/bin). Runs its own server under a temporary directory on
# BENCH_SQL_PORT (default 29432); as root it runs PostgreSQL as the user `postgres`.
set -euo pipefail
cd "$(dirname "$0")/.."

PG_BIN=${PG_BIN:-/usr/lib/postgresql/15/bin}
PORT=${BENCH_SQL_PORT:-29432}
BATCHES=${BENCH_SQL_BATCHES:-20}
FILL_BATCHES=${BENCH_SQL_FILL_BATCHES:-320}
PLATFORM_WALLET="'00000000-0000-4000-8000-0000000000ff'::uuid"
refs=("$@")
[ ${#refs[@]} -eq 0 ] && refs=(HEAD)

for tool in valgrind pgbench psql "$PG_BIN/postgres"; do
  command -v "$tool" >/dev/null || { echo "bench:sql needs $tool" >&2; exit 1; }
done

work=$(mktemp -d)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$work"
server_start() { as_pg "$PG_BIN/pg_ctl" -D "$work/data" -w -l "$work/server.log" -o "-p $PORT -k $work -c fsync=off -c listen_addresses=127.0.0.1" start >/dev/null; }
server_stop() { as_pg "$PG_BIN/pg_ctl" -D "$work/data" -w stop >/dev/null; }
cleanup() { server_stop 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
psql_db() { psql -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres "$@"; }

as_pg "$PG_BIN/initdb" -D "$work/data" -U postgres -A trust >/dev/null
server_start

for index in "${!refs[@]}"; do
  ref=${refs[$index]}
  tree="$work/tree$index"
  mkdir -p "$tree"
  git archive "$ref" drizzle bench/pgbench | tar -x -C "$tree"
  db="ref$index"
  psql_db -c "CREATE DATABASE $db" postgres
  for migration in "$tree"/drizzle/[0-9]*.sql; do psql_db -1 -f "$migration" "$db" >/dev/null; done
  psql_db -o /dev/null "$db" <<'SQL'
CREATE TABLE bench_buyers (n int PRIMARY KEY, id uuid NOT NULL, user_id uuid NOT NULL);
CREATE TABLE bench_authors (n int PRIMARY KEY, id uuid NOT NULL, user_id uuid NOT NULL);
SELECT setseed(0.42);
INSERT INTO bench_buyers SELECT g, gen_random_uuid(), gen_random_uuid() FROM generate_series(1, 1000) g;
INSERT INTO bench_authors SELECT g, gen_random_uuid(), gen_random_uuid() FROM generate_series(1, 100) g;
INSERT INTO users (id) SELECT user_id FROM bench_buyers UNION ALL SELECT user_id FROM bench_authors
  UNION ALL SELECT '00000000-0000-4000-8000-000000000001';
INSERT INTO wallets (id, user_id, balance) SELECT id, user_id, 1000000000000 FROM bench_buyers;
INSERT INTO wallets (id, user_id, balance) SELECT id, user_id, 0 FROM bench_authors;
INSERT INTO wallets (id, user_id, balance)
  VALUES ('00000000-0000-4000-8000-0000000000ff', '00000000-0000-4000-8000-000000000001', 0);
SQL
  pgbench -n -h 127.0.0.1 -p "$PORT" -U postgres -c 4 -j 2 -t $((FILL_BATCHES / 4)) \
    -f "$tree/bench/pgbench/purchase-batch.sql" -D buyers=1000 -D authors=100 -D batch=32 \
    -D platform="$PLATFORM_WALLET" "$db" >/dev/null
  psql_db -c "VACUUM ANALYZE" "$db"
  # One statement per line, psql variables written out: what single-user mode reads.
  query=$(grep -v '^--' "$tree/bench/pgbench/purchase-batch.sql" | tr '\n' ' ' |
    sed "s/:buyers/1000/g; s/:authors/100/g; s/:batch/32/g; s/:platform/$PLATFORM_WALLET/g")
  {
    echo "SELECT setseed(0.42)"
    for _ in 1 2 3 4 5; do echo "$query"; done
    echo "ANALYZE"
  } >"$tree/warmup.sql"
  { cat "$tree/warmup.sql"; for _ in $(seq 1 "$BATCHES"); do echo "$query"; done; } >"$tree/run.sql"
  psql_db -c "CREATE DATABASE ${db}_warmup TEMPLATE $db" -c "CREATE DATABASE ${db}_run TEMPLATE $db" postgres
done
server_stop
[ "$(id -u)" = 0 ] && chown -R postgres "$work"

instructions() { # database, script
  as_pg valgrind --tool=callgrind --callgrind-out-file="$work/$1.callgrind" \
    "$PG_BIN/postgres" --single -D "$work/data" -c fsync=off "$1" <"$2" >/dev/null 2>"$work/$1.valgrind"
  awk '/^(summary|totals):/ {print $2; exit}' "$work/$1.callgrind"
}

printf '%-12s %-44s %s\n' ref commit "instructions per purchase (ratio to the first)"
first=
for index in "${!refs[@]}"; do
  tree="$work/tree$index"
  run=$(instructions "ref${index}_run" "$tree/run.sql")
  warmup=$(instructions "ref${index}_warmup" "$tree/warmup.sql")
  per_purchase=$(((run - warmup) / (BATCHES * 32)))
  [ -z "$first" ] && first=$per_purchase
  printf '%-12s %-44s %d (%s)\n' "${refs[$index]}" "$(git rev-parse --short "${refs[$index]}") $(git log -1 --format=%cs "${refs[$index]}")" \
    "$per_purchase" "$(awk -v a="$per_purchase" -v b="$first" 'BEGIN { printf "%.3f", a / b }')"
done
