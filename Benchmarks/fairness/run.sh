#!/usr/bin/env bash
# Fairness between organisations (issue 15), side by side in one run: for each server setting and each kind of
# bystander, organisation 1 reads (point-read, 4 connections) alone, then while organisation 0 floods with the mix
# scenario over 48 connections at depth 4; B's p99 during the flood ÷ its p99 alone is the figure (target ≤ 2).
# The bystander either reads as fast as its replies come (`closed`: by itself it saturates the two cores, so it
# is a second flood) or at an ordinary tenant's pace (`paced`: $B_RATE calls a second per connection).
#
# A setting is SHARE:TIME, the pool share (ENGAGEMENT_POOL_SHARE_PERCENT) and the database time
# (ENGAGEMENT_ORG_DATABASE_MS_PER_SECOND, 0: no limit) one organisation may use while another is active.
#
#   bash Benchmarks/fairness/run.sh                          # settings 25:0 and 25:250 (the default), both bystanders, 2 rounds
#   SETTINGS="25:0 25:250" BYSTANDERS="paced" ROUNDS=3 DURATION=15 bash Benchmarks/fairness/run.sh
#
# Each measurement runs on a fresh `engagementd dev` (release build) under $BENCH_DIR.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
dir="${BENCH_DIR:-/tmp/engagement-fairness}"
settings="${SETTINGS:-25:0 25:250}"
bystanders="${BYSTANDERS:-closed paced}"
b_rate="${B_RATE:-50}"
rounds="${ROUNDS:-2}"
duration="${DURATION:-15}"
port="${BENCH_PORT:-7843}"
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"
cd "$repo"
swift build -c release -debug-info-format none --scratch-path "$repo/.build-bench" 2>&1 | tail -1
release="$repo/.build-bench/release"
p99() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['latency_ms']['p99'])" "$1"; }
p50() { python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['latency_ms']['p50'])" "$1"; }
rate() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); print(round(d.get('calls_per_second', d.get('throughput', 0))))" "$1"; }

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(date -u +%F); commit $(git rev-parse --short HEAD)"
echo "| pool share | database time ms/s | bystander | round | B alone p50 / p99 ms | B during A's flood p50 / p99 ms | B's p99 ratio | A's flood calls/s |"
echo "|---|---|---|---|---|---|---|---|"
for round in $(seq 1 "$rounds"); do
    for setting in $settings; do
        share="${setting%%:*}" dbtime="${setting##*:}"
    for bystander in $bystanders; do
        if [ "$bystander" = paced ]; then pace=(--rate "$b_rate"); label="paced, 4 × $b_rate/s"; else pace=(); label="closed loop"; fi
        rm -rf "$dir" && mkdir -p "$dir"
        ENGAGEMENT_POOL_SHARE_PERCENT="$share" ENGAGEMENT_ORG_DATABASE_MS_PER_SECOND="$dbtime" "$release/engagementd" dev --directory "$dir/dev" --port "$port" --metrics-port 0 \
            --sql "$repo/SQL" --log-level warning >"$dir/server.log" 2>&1 &
        server=$!
        for _ in $(seq 1 120); do grep -q "\"port\":$port" "$dir/dev/connection.json" 2>/dev/null && break; sleep 1; done
        sleep 1
        load() { "$release/engagement-loadgen" --connection-file "$dir/dev/connection.json" "$@"; }
        load --organisation 1 --scenario point-read --connections 4 --depth 1 "${pace[@]}" --duration "$duration" --output "$dir/alone.json" >/dev/null
        load --organisation 0 --scenario mix --connections 48 --depth 4 --duration $((duration + 4)) --warmup 2 --output "$dir/flood.json" >/dev/null &
        flood=$!
        sleep 3
        load --organisation 1 --scenario point-read --connections 4 --depth 1 "${pace[@]}" --duration "$duration" --output "$dir/during.json" >/dev/null
        wait "$flood"
        kill "$server"; wait "$server" 2>/dev/null || true
        python3 -c "import sys; a, d = float(sys.argv[2]), float(sys.argv[3]); print(f'| {sys.argv[1]} % | $dbtime | $label | $round | {sys.argv[4]} / {a} | {sys.argv[5]} / {d} | {d / a:.1f}× | {sys.argv[6]} |')" \
            "$share" "$(p99 "$dir/alone.json")" "$(p99 "$dir/during.json")" "$(p50 "$dir/alone.json")" "$(p50 "$dir/during.json")" "$(rate "$dir/flood.json")"
    done
    done
done
