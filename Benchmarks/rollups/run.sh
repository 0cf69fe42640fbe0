#!/usr/bin/env bash
# Rollup measurements: refresh time of the materialized rollups and read latency of engagement.rollup's SQL
# (materialized and live), at several sizes, on a private PostgreSQL 15 cluster.
#
#   bash Benchmarks/rollups/run.sh              # 1,000 and 100,000 engagements across 100 organisations
#   SIZES="1000" bash Benchmarks/rollups/run.sh
#
# Timings are taken inside PostgreSQL (clock_timestamp around each call, as the server's role under row-level
# security), so they exclude the network and the JSON-RPC layer; Benchmarks/README.md records the results.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
bin=/usr/lib/postgresql/15/bin
dir="${BENCH_DIR:-/tmp/engagement-rollup-bench}"
port="${BENCH_PORT:-55499}"
sizes="${SIZES:-1000 100000}"

as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
mkdir -p "$dir"; [ "$(id -u)" = 0 ] && chown postgres "$dir"
if [ ! -f "$dir/data/PG_VERSION" ]; then as_postgres "$bin/initdb" -D "$dir/data" -A trust -U postgres >/dev/null; fi
as_postgres "$bin/pg_ctl" -D "$dir/data" -o "-p $port -k $dir -c shared_buffers=1GB -c work_mem=64MB -c max_wal_size=4GB" \
    -l "$dir/log" -w start >/dev/null
trap 'as_postgres "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null' EXIT
psql_do() { psql -h "$dir" -p "$port" -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }

echo "| engagements | organisations | refresh (ms, median of 3) | materialized read p50 / p99 (ms) | live subtree 1,001 (ms) | live subtree 10,001 (ms) |"
echo "|---|---|---|---|---|---|"
for size in $sizes; do
    psql_do -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS rollup_bench" -c "CREATE DATABASE rollup_bench"
    for migration in "$repo"/SQL/migrations/*.sql; do psql_do -d rollup_bench -1 -f "$migration" >/dev/null; done
    # The two measured subtrees (11,002 engagements) come with the largest size only, so smaller sizes stay exact.
    subtrees=false; [ "$size" = "${sizes##* }" ] && subtrees=true
    psql_do -d rollup_bench -v orgs=100 -v per_org=$((size / 100)) -v subtrees=$subtrees -f "$here/generate.sql" >/dev/null
    for _ in 1 2 3; do psql_do -d rollup_bench -c "SET statement_timeout = 0" -c "SELECT app.refresh_rollups()" >/dev/null; done
    refresh=$(psql_do -d rollup_bench -c \
        "SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY milliseconds) FROM rollup.refreshes")
    total=$(psql_do -d rollup_bench -c "SELECT count(*) FROM app.engagements")
    reads=$(psql_do -d rollup_bench <<'SQL'
CREATE TEMPORARY TABLE sample AS
    SELECT organisation_id, id FROM app.engagements TABLESAMPLE BERNOULLI (5) REPEATABLE (1) LIMIT 500;
GRANT SELECT ON sample TO engagement_app;
CREATE TEMPORARY TABLE timings (ms numeric);
GRANT INSERT, SELECT ON timings TO engagement_app;
SET SESSION AUTHORIZATION engagement_app;
DO $$
DECLARE
    s record;
    started timestamptz;
BEGIN
    FOR s IN SELECT * FROM sample LOOP
        PERFORM set_config('app.organisation_id', s.organisation_id::text, false);
        started := clock_timestamp();
        PERFORM app.engagement_rollup(s.id, false);
        INSERT INTO timings VALUES (extract(epoch FROM clock_timestamp() - started) * 1000);
    END LOOP;
END $$;
SELECT round((percentile_cont(0.5) WITHIN GROUP (ORDER BY ms))::numeric, 2) || ' / ' || round((percentile_cont(0.99) WITHIN GROUP (ORDER BY ms))::numeric, 2)
FROM timings;
SQL
)
    live=("–" "–")
    $subtrees && live=()
    $subtrees && for root in E1000001 E2000001; do
        live+=("$(psql_do -d rollup_bench <<SQL
CREATE TEMPORARY TABLE timings (ms numeric);
GRANT INSERT, SELECT ON timings TO engagement_app;
SELECT set_config('app.organisation_id', id::text, false) FROM app.organisations WHERE name = 'Bench 1' \\g /dev/null
SET SESSION AUTHORIZATION engagement_app;
DO \$\$
DECLARE
    root uuid := (SELECT id FROM app.engagements WHERE organisation_id = app.current_organisation_id() AND code = '$root');
    started timestamptz;
BEGIN
    FOR run IN 1..5 LOOP
        started := clock_timestamp();
        PERFORM app.engagement_rollup(root, true);
        INSERT INTO timings VALUES (extract(epoch FROM clock_timestamp() - started) * 1000);
    END LOOP;
END \$\$;
SELECT round((percentile_cont(0.5) WITHIN GROUP (ORDER BY ms))::numeric, 1) FROM timings;
SQL
)")
    done
    echo "| $total | 100 | $refresh | $reads | ${live[0]} | ${live[1]} |"
done
