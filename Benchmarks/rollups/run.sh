#!/usr/bin/env bash
# Rollup measurements: the refresh of one organisation's maintained rollups (and of every organisation's), and the
# read latency of engagement.rollup's SQL (maintained and live), at several sizes, on a private PostgreSQL 15
# cluster. A size is ORGANISATIONS:ENGAGEMENTS_PER_ORGANISATION.
#
#   bash Benchmarks/rollups/run.sh                          # 100 and 1,000 organisations of 1,000 engagements
#   SIZES="100:10 100:1000" bash Benchmarks/rollups/run.sh
#
# Timings are taken inside PostgreSQL (clock_timestamp around each call, as the server's role under row-level
# security), so they exclude the network and the JSON-RPC layer, except the last column: with the last size, a
# real `engagementd serve` (release build) on the database, and freshness.py timing a write's way into the
# maintained parent rollup over TLS. Benchmarks/README.md records the results.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
dir="${BENCH_DIR:-/tmp/engagement-rollup-bench}"
port="${BENCH_PORT:-55499}"
sizes="${SIZES:-100:1000 1000:1000}"
server_port="${BENCH_SERVER_PORT:-7851}"
# shellcheck source=Benchmarks/bench-server.sh
source "$repo/Benchmarks/bench-server.sh"
bench_start_cluster

echo "| engagements | organisations | one organisation's refresh (ms, median of 5) | every organisation's (s) | maintained read p50 / p99 (ms) | live subtree 1,001 (ms) | live subtree 10,001 (ms) | write → maintained parent rollup (s, median / max of 5) |"
echo "|---|---|---|---|---|---|---|---|"
# A server on the benchmark database, an API key of the second organisation (as an admin made for it), and
# freshness.py against its tree rooted at E1 (a write on E1000, a leaf), after the server's first round.
measure_freshness() {
    local key
    key=$(bench_key rollup_bench "Bench 2")
    bench_serve rollup_bench
    local ids
    ids=$(psql_do -d rollup_bench -F ' ' -c "SELECT (SELECT id FROM app.engagements e WHERE e.organisation_id = o.id AND code = 'E1'),
        (SELECT id FROM app.engagements e WHERE e.organisation_id = o.id AND code = 'E$per_org') FROM app.organisations o WHERE name = 'Bench 2'")
    # shellcheck disable=SC2086
    fresh=$(python3 "$here/freshness.py" 127.0.0.1 "$server_port" "$dir/tls/ca.pem" "$key" $ids 5 | python3 -c "
import json, statistics, sys
s = json.load(sys.stdin)['seconds']
print(f'{statistics.median(s):.2f} / {max(s):.2f}')")
    bench_stop_server
}

for size in $sizes; do
    orgs="${size%%:*}" per_org="${size##*:}"
    bench_database rollup_bench
    # The two measured subtrees (11,002 engagements, in the first organisation) come with the last size only.
    subtrees=false; [ "$size" = "${sizes##* }" ] && subtrees=true
    psql_do -d rollup_bench -v orgs="$orgs" -v per_org="$per_org" -v subtrees=$subtrees -f "$here/generate.sql" >/dev/null
    psql_do -d rollup_bench -c "VACUUM ANALYZE" >/dev/null
    # Every organisation (the first fill of the maintained tables), then one organisation of the ordinary size
    # (the second: the first holds the measured subtrees) five times, each in its own transaction.
    psql_do -d rollup_bench -c "SET statement_timeout = 0" -c "SELECT app.refresh_rollups()" >/dev/null
    every=$(psql_do -d rollup_bench -c "SELECT round(sum(milliseconds) / 1000, 1) FROM rollup.refreshes")
    for _ in 1 2 3 4 5; do
        psql_do -d rollup_bench -c "SELECT app.refresh_rollups(id) FROM app.organisations WHERE name = 'Bench 2'" >/dev/null
    done
    refresh=$(psql_do -d rollup_bench -c "SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY r.milliseconds)
        FROM (SELECT milliseconds FROM rollup.refreshes r JOIN app.organisations o ON o.id = r.organisation_id
              WHERE o.name = 'Bench 2' ORDER BY r.started_at DESC LIMIT 5) r")
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
    fresh="–"
    $subtrees && measure_freshness
    echo "| $total | $orgs | $refresh | $every | $reads | ${live[0]} | ${live[1]} | $fresh |"
done
