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
dir="${BENCH_DIR:-/tmp/engagement-curves}"
port="${BENCH_PORT:-55498}"
server_port="${BENCH_SERVER_PORT:-7852}"
sizes="${SIZES:-1:1000 100:1000 1000:1000}"
connection_counts="${CONNECTIONS:-1 32 256 1000}"
duration="${DURATION:-10}"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
# shellcheck source=Benchmarks/bench-server.sh
source "$repo/Benchmarks/bench-server.sh"
rm -rf "$dir"
bench_start_cluster

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(date -u +%F); commit $(git -C "$repo" rev-parse --short HEAD)"
echo "| engagements | scenario | connections | calls/s | p50 ms | p99 ms | errors |"
echo "|---|---|---|---|---|---|---|"
for size in $sizes; do
    orgs="${size%%:*}" per_org="${size##*:}"
    bench_database curves
    psql_do -d curves -v orgs="$orgs" -v per_org="$per_org" -v subtrees=false -f "$repo/Benchmarks/rollups/generate.sql" >/dev/null
    psql_do -d curves -c "VACUUM ANALYZE" >/dev/null
    key=$(bench_key curves "Bench $((orgs > 1 ? 2 : 1))")
    python3 -c "import json, sys; json.dump({'host': '127.0.0.1', 'port': int(sys.argv[1]), 'ca_file': sys.argv[2],
        'organisations': [{'api_key': sys.argv[3]}]}, open(sys.argv[4], 'w'))" "$server_port" "$dir/tls/ca.pem" "$key" "$dir/connection.json"
    bench_serve curves ENGAGEMENT_MAX_CONNECTIONS=2048
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
    bench_stop_server
done
