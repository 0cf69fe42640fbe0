#!/usr/bin/env bash
# Where PostgreSQL's time goes per statement, planning apart from execution, including the statements inside
# functions and triggers: pg_stat_statements with track = all and track_planning on, on `engagementd dev`'s private
# cluster (release build). Two workloads, each measured alone: a seed through the write path (`engagementctl seed`
# beside the first one's data), and the load generator's SCENARIOS against the server. For each, the statements
# by planning plus execution time, with calls and plans: a statement with about as many plans as calls is planned
# at every call, the pattern behind most of what it found (Benchmarks/README.md, "Planning, statement by statement").
#
#   bash Benchmarks/planning/run.sh
#   SCENARIOS="write point-read" DURATION=10 TOP=30 bash Benchmarks/planning/run.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
dir="${BENCH_DIR:-/tmp/engagement-planning}"
scenarios="${SCENARIOS:-write point-read list-page}"
duration="${DURATION:-10}"
top="${TOP:-15}"
bin=/usr/lib/postgresql/15/bin
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }

cd "$repo"
swift build -c release -debug-info-format none --scratch-path "$repo/.build-bench" 2>&1 | tail -1
release="$repo/.build-bench/release"
rm -rf "$dir" && mkdir -p "$dir"
ENGAGEMENT_LOG_LEVEL=warning "$release/engagementd" dev --directory "$dir/dev" --port 0 --metrics-port 0 > "$dir/server.log" 2>&1 &
server=$!
trap 'kill -INT "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do [ -f "$dir/dev/connection.json" ] && grep -q '"port"' "$dir/dev/connection.json" && break; sleep 1; done
sleep 2

# The superuser over TCP (the dev cluster has no socket directory), and pg_stat_statements loaded by a restart;
# the server reconnects by itself.
port=$(python3 -c "import json, urllib.parse; print(urllib.parse.urlparse(json.load(open('$dir/dev/connection.json'))['database_url']).port)")
export PGPASSWORD; PGPASSWORD=$(cat "$dir/dev/postgres/superuser-password")
su() { PGOPTIONS="-c client_min_messages=warning" psql -h 127.0.0.1 -p "$port" -U postgres -d engagement -v ON_ERROR_STOP=1 -qAt "$@"; }
su -c "ALTER SYSTEM SET shared_preload_libraries = 'pg_stat_statements'"
as_postgres "$bin/pg_ctl" -D "$dir/dev/postgres/data" -l "$dir/dev/postgres/postgres.log" -m fast -w restart >/dev/null
su -c "CREATE EXTENSION IF NOT EXISTS pg_stat_statements" \
   -c "ALTER SYSTEM SET pg_stat_statements.track = 'all'" -c "ALTER SYSTEM SET pg_stat_statements.track_planning = on" \
   -c "SELECT pg_reload_conf()" >/dev/null

report() {  # $1: what was measured
    echo
    echo "### $1"
    echo
    echo "| calls | plans | planning ms | execution ms | statement |"
    echo "|---|---|---|---|---|"
    su -F '|' -c "SELECT calls, plans, round(total_plan_time::numeric), round(total_exec_time::numeric),
                         replace(left(regexp_replace(query, '\s+', ' ', 'g'), 120), '|', '\|')
                  FROM pg_stat_statements WHERE query NOT LIKE '%pg_stat_statements%'
                  ORDER BY total_plan_time + total_exec_time DESC LIMIT $top" | sed 's/^/| /; s/$/ |/'
}

"$release/engagementctl" seed --connection-file "$dir/dev/connection.json" --seed 1 --keys-file "$dir/keys.json" 2>&1 | tail -1
su -c "VACUUM ANALYZE" -c "SELECT pg_stat_statements_reset()" >/dev/null
seeded=$("$release/engagementctl" seed --connection-file "$dir/dev/connection.json" --seed 2 --keys-file "$dir/keys-2.json" 2>&1 \
    | grep "^seeded")
report "A second seed beside the first ($seeded)"

for scenario in $scenarios; do
    su -c "SELECT pg_stat_statements_reset()" >/dev/null
    result=$("$release/engagement-loadgen" --connection-file "$dir/keys.json" --scenario "$scenario" --connections 32 \
        --depth 1 --duration "$duration" --warmup 2 --output "$dir/loadgen-$scenario.json" | tail -1)
    report "engagement-loadgen $scenario, 32 connections, $duration s: $result"
done
