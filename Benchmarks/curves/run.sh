#!/usr/bin/env bash
# Curves, not points (issue 17): the point read and the list page over the real protocol at several database sizes
# and client connection counts, on a private PostgreSQL 15 cluster and a real `engagementd serve` (release build,
# default settings, pool of 10). A size is ORGANISATIONS:ENGAGEMENTS_PER_ORGANISATION, bulk-loaded by
# Benchmarks/rollups/generate.sql (the same data as the rollup measurements); the load is one organisation's (the
# second, 1,000 engagements), as engagement-loadgen drives it: depth 1, each connection a closed loop.
#
#   bash Benchmarks/curves/run.sh                                   # 10³, 10⁵ and 10⁶ engagements; 1 to 1,000 connections
#   SIZES="1:1000" CONNECTIONS="1 32" DURATION=5 bash Benchmarks/curves/run.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
bin=/usr/lib/postgresql/15/bin
dir="${BENCH_DIR:-/tmp/engagement-curves}"
port="${BENCH_PORT:-55498}"
server_port="${BENCH_SERVER_PORT:-7852}"
sizes="${SIZES:-1:1000 100:1000 1000:1000}"
connection_counts="${CONNECTIONS:-1 32 256 1000}"
duration="${DURATION:-10}"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

swift build -c release -debug-info-format none --scratch-path "$repo/.build-bench" 2>&1 | tail -1
release="$repo/.build-bench/release"
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
rm -rf "$dir" && mkdir -p "$dir"; [ "$(id -u)" = 0 ] && chown postgres "$dir"
as_postgres "$bin/initdb" -D "$dir/data" -A trust -U postgres >/dev/null
as_postgres "$bin/pg_ctl" -D "$dir/data" -o "-p $port -k $dir -c shared_buffers=1GB -c work_mem=64MB -c max_wal_size=4GB" \
    -l "$dir/log" -w start >/dev/null
server=""
trap '[ -n "$server" ] && kill "$server"; as_postgres "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null' EXIT
psql_do() { PGOPTIONS="-c client_min_messages=warning" psql -h "$dir" -p "$port" -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }
"$release/engagementctl" certs --directory "$dir/tls" >/dev/null

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(date -u +%F); commit $(git -C "$repo" rev-parse --short HEAD)"
echo "| engagements | scenario | connections | calls/s | p50 ms | p99 ms | errors |"
echo "|---|---|---|---|---|---|---|"
for size in $sizes; do
    orgs="${size%%:*}" per_org="${size##*:}"
    psql_do -d postgres -c "DROP DATABASE IF EXISTS curves"
    "$release/engagementctl" bootstrap --superuser-url "postgresql://postgres@/postgres?host=$dir&port=$port" \
        --database curves --owner-password bench --app-password bench --sql "$repo/SQL" >/dev/null 2>&1
    psql_do -d curves -v orgs="$orgs" -v per_org="$per_org" -v subtrees=false -f "$repo/Benchmarks/rollups/generate.sql" >/dev/null
    psql_do -d curves -c "VACUUM ANALYZE" >/dev/null
    psql_do -d curves -c "INSERT INTO app.users (organisation_id, email, display_name, role)
        SELECT id, 'bench@example.com', 'Bench', 'admin' FROM app.organisations WHERE name = 'Bench $((orgs > 1 ? 2 : 1))'" >/dev/null
    key=$("$release/engagementctl" key create --org "Bench $((orgs > 1 ? 2 : 1))" --user bench@example.com \
        --database-url "postgresql://engagement_owner:bench@/curves?host=$dir&port=$port" 2>/dev/null)
    python3 -c "import json, sys; json.dump({'host': '127.0.0.1', 'port': int(sys.argv[1]), 'ca_file': sys.argv[2],
        'organisations': [{'api_key': sys.argv[3]}]}, open(sys.argv[4], 'w'))" "$server_port" "$dir/tls/ca.pem" "$key" "$dir/connection.json"
    started=$(psql_do -d curves -c "SELECT clock_timestamp()")
    ENGAGEMENT_TLS_CERT="$dir/tls/server.pem" ENGAGEMENT_TLS_KEY="$dir/tls/server-key.pem" ENGAGEMENT_PORT="$server_port" \
        ENGAGEMENT_DATABASE_URL="postgresql://engagement_app:bench@/curves?host=$dir&port=$port" \
        ENGAGEMENT_METRICS_PORT=off ENGAGEMENT_LOG_LEVEL=warning ENGAGEMENT_SQL_DIR="$repo/SQL" ENGAGEMENT_MAX_CONNECTIONS=2048 \
        "$release/engagementd" serve >"$dir/server.log" 2>&1 &
    server=$!
    # Measured in the steady state: after the server's first round of rollup refreshes.
    until [ "$(psql_do -d curves -c "SELECT count(DISTINCT organisation_id) FROM rollup.refreshes WHERE started_at > '$started'")" -ge "$orgs" ]; do
        sleep 2
    done
    total=$(psql_do -d curves -c "SELECT count(*) FROM app.engagements")
    for scenario in point-read list-page; do
        for connections in $connection_counts; do
            "$release/engagement-loadgen" --connection-file "$dir/connection.json" --scenario "$scenario" \
                --connections "$connections" --duration "$duration" --output "$dir/result.json" >/dev/null
            python3 -c "import json, sys; d = json.load(open(sys.argv[1])); l = d['latency_ms']; e = sum(int(v) for v in d['errors'].values())
print(f\"| {int(sys.argv[2]):,} | {sys.argv[3]} | {sys.argv[4]} | {round(float(d['calls_per_second'])):,} | {float(l['p50']):.2f} | {float(l['p99']):.2f} | {e} |\")" \
                "$dir/result.json" "$total" "$scenario" "$connections"
        done
    done
    kill "$server"; wait "$server" 2>/dev/null || true; server=""
done
