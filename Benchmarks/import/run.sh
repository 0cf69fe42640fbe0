#!/usr/bin/env bash
# Import throughput end to end: engagementctl reading a spreadsheet export → the server (release build) → the
# check-in write path in PostgreSQL, on the dev mode's private cluster. The files are a realistic export
# (generate.py): customers, services, templates, active engagements, and a year of monthly check-ins as one row
# per line (12 per engagement-month). Target (issue 18): 100,000 check-in rows in under 60 s on 2 cores.
#
#   bash Benchmarks/import/run.sh                      # 700 engagements: 100,800 check-in rows
#   ENGAGEMENTS=100 bash Benchmarks/import/run.sh      # 14,400 rows
#   PARALLEL=1 BATCH=500 bash Benchmarks/import/run.sh # engagementctl's defaults are --parallel 2 --batch 500
#
# Everything runs under $BENCH_DIR (default /tmp/engagement-import-bench), removed first.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
dir="${BENCH_DIR:-/tmp/engagement-import-bench}"
engagements="${ENGAGEMENTS:-700}"
parallel="${PARALLEL:-2}"
batch="${BATCH:-1000}"
port="${BENCH_PORT:-7743}"

cd "$repo"
swift build -c release -debug-info-format none --scratch-path "$repo/.build-bench" 2>&1 | tail -1
release="$repo/.build-bench/release"
rm -rf "$dir" && mkdir -p "$dir"
python3 "$repo/Benchmarks/import/generate.py" "$dir/files" "$engagements" >/dev/null

"$release/engagementd" dev --directory "$dir/dev" --port "$port" --metrics-port 0 --sql "$repo/SQL" --log-level warning \
    >"$dir/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
for _ in $(seq 1 120); do
    if [ -f "$dir/dev/connection.json" ] && grep -q "\"port\" *: *$port" "$dir/dev/connection.json" 2>/dev/null; then break; fi
    sleep 1
done
sleep 1
org=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['organisations'][1]['name'])" "$dir/dev/connection.json")

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(date -u +%F); commit $(git rev-parse --short HEAD)"
echo "| kind | rows | seconds | rows/s |"
echo "|---|---|---|---|"
for kind in parties services templates engagements checkins; do
    rows=$(($(wc -l <"$dir/files/$kind.csv") - 1))
    start=$(date +%s.%N)
    "$release/engagementctl" import "$kind" "$dir/files/$kind.csv" --connection-file "$dir/dev/connection.json" --org "$org" \
        --batch "$batch" --parallel "$parallel" >"$dir/$kind.out" 2>&1 || { cat "$dir/$kind.out"; exit 1; }
    end=$(date +%s.%N)
    python3 -c "import sys; r, s = int(sys.argv[2]), float(sys.argv[4]) - float(sys.argv[3]); print(f'| {sys.argv[1]} | {r:,} | {s:.1f} | {r / s:,.0f} |')" \
        "$kind" "$rows" "$start" "$end"
    tail -1 "$dir/$kind.out" >&2
done
