#!/usr/bin/env bash
# Side by side, in one run on one machine: the server's point read over the real protocol against pgbench running
# the same SQL in the same transaction shape, the same pgbench through pgbouncer (transaction mode) as a reference
# for what a thin C proxy costs, the tail latency of both (pgbench's from its per-transaction log), and the
# server's memory per idle authenticated TLS connection.
#
#   bash Benchmarks/compare.sh                    # 9.5 minutes from a fresh clone on 2 cores (6.5 of them building)
#   CLIENTS=32 DURATION=30 ROUNDS=3 IDLE="1000 10000" bash Benchmarks/compare.sh
#   EXTENDED=1 bash Benchmarks/compare.sh         # also pgbench direct with the extended protocol
#   PROFILE=1 bash Benchmarks/compare.sh          # also a perf profile of the point read ($BENCH_DIR/profile.txt)
#   SCENARIOS="list-page write rollup mix" bash Benchmarks/compare.sh   # also the other scenarios, one row each
#   AUTOGROUP=0 bash Benchmarks/compare.sh        # with the kernel's autogroup scheduling off for the run (root)
#
# Linux's autogroup scheduling (kernel.sched_autogroup_enabled, on by default) shares the CPU equally between
# sessions: here the server's, PostgreSQL's (pg_ctl starts it in a session of its own) and the load generator's
# or pgbench's. The tail latency depends on it (Benchmarks/README.md, "The tail and the scheduler"), so the
# machine line says which was in force.
#
# Everything runs on a private cluster under $BENCH_DIR (default /tmp/engagement-compare), removed first.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
dir="${BENCH_DIR:-/tmp/engagement-compare}"
port="${BENCH_PORT:-7643}"
clients="${CLIENTS:-32}"
duration="${DURATION:-15}"
rounds="${ROUNDS:-2}"
orgs="${ORGS:-32}"
per_org="${PER_ORG:-200}"
months="${MONTHS:-2}"
idle_counts="${IDLE-1000 10000}"  # IDLE="" skips the idle-connection rows
pool="${POOL:-10}"
bin=/usr/lib/postgresql/15/bin

if ! command -v pgbouncer >/dev/null 2>&1; then
    echo "installing pgbouncer" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq --no-install-recommends pgbouncer >/dev/null
fi
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)"

autogroup=/proc/sys/kernel/sched_autogroup_enabled
autogroup_before=$(cat "$autogroup" 2>/dev/null || echo "")
if [ -n "${AUTOGROUP:-}" ]; then
    echo "$AUTOGROUP" > "$autogroup" || { echo "AUTOGROUP needs root and $autogroup" >&2; exit 1; }
fi

cd "$repo"
# A release build of its own, without debug information (387 s instead of 438 s from scratch on 2 cores;
# perf still finds every symbol in the symbol table).
swift build -c release -debug-info-format none --scratch-path "$repo/.build-bench" 2>&1 | tail -1
echo "release build: ${SECONDS} s"
release="$repo/.build-bench/release"

rm -rf "$dir" && mkdir -p "$dir"
ENGAGEMENT_DB_POOL_SIZE=$pool ENGAGEMENT_MAX_CONNECTIONS=20000 ENGAGEMENT_LOG_LEVEL=warning \
    "$release/engagementd" dev --directory "$dir/dev" --port "$port" > "$dir/server.log" 2>&1 &
server=$!
cleanup() {
    if [ -n "${AUTOGROUP:-}" ] && [ -n "$autogroup_before" ]; then echo "$autogroup_before" > "$autogroup"; fi
    kill -INT "$server" 2>/dev/null || true
    [ -f "$dir/pgbouncer.pid" ] && kill "$(cat "$dir/pgbouncer.pid")" 2>/dev/null || true
    wait "$server" 2>/dev/null || true
}
trap cleanup EXIT
for _ in $(seq 1 120); do [ -f "$dir/dev/connection.json" ] && grep -q '"port"' "$dir/dev/connection.json" && break; sleep 1; done
sleep 2

"$release/engagementctl" seed --connection-file "$dir/dev/connection.json" --orgs "$orgs" \
    --engagements-per-org "$per_org" --months "$months" --seed 1 --keys-file "$dir/keys.json" 2>&1 | tail -1
echo "seeded: ${SECONDS} s"

# Connection details: the application role's URL (what the server uses) and the postmaster's pid.
eval "$(python3 - "$dir" <<'PY'
import json, sys, urllib.parse
d = sys.argv[1]
conn = json.load(open(f"{d}/dev/connection.json"))
creds = json.load(open(f"{d}/dev/credentials.json"))
u = urllib.parse.urlparse(conn["database_url"])
print(f"pghost={u.hostname}; pgport={u.port}; pgdb={u.path.lstrip('/')}; app_password={creds['application_password']}")
PY
)"
postmaster=$(head -1 "$(find "$dir/dev/postgres" -name postmaster.pid | head -1)")
# Settle the database after the bulk load (statistics, visibility map), so autovacuum does not run during the
# first round only.
psql "$(python3 -c "import json;print(json.load(open('$dir/dev/connection.json'))['database_url'])")" -qc "VACUUM (ANALYZE)" 2>&1 \
    | grep -v "skipping" || true

# One pgbench script per seeded organisation: the server's two statements for engagement.get (tenant context,
# then the method's function, api.engagement_get), in one pipeline ending in one Sync, so one implicit transaction and one round trip,
# exactly as TenantDatabase sends them (the key, the method, a request id and the session's organisation). The
# only difference: the engagement id is computed from the seed's
# deterministic formula (md5 of "1:engagement:<organisation>:<n>"; chr(58) is the colon, which pgbench would
# take for a variable) and the params are built with jsonb_build_object instead of arriving as bound jsonb text.
mkdir -p "$dir/pgbench"
psql "$(python3 -c "import json;print(json.load(open('$dir/dev/connection.json'))['database_url'])")" -qAt -F ' ' -c "
    SELECT o.id, k.key_id FROM app.organisations o JOIN app.api_keys k ON k.organisation_id = o.id
    WHERE o.name LIKE 'Seed 1 organisation %' AND k.label = 'seed'" | while read -r org key; do
    cat > "$dir/pgbench/$org.sql" <<SQL
\set n random(1, $per_org)
\startpipeline
SELECT app.begin_call('$key', 'engagement.get', 'pgbench', '$org');
SELECT api.engagement_get(jsonb_build_object('id', md5(concat_ws(chr(58), '1', 'engagement', '$org', :n::text))::uuid));
\endpipeline
SQL
done
scripts=$(for f in "$dir"/pgbench/*.sql; do printf -- '-f %s ' "$f"; done)

run_pgbench() {  # $1 label, $2 mode, $3 host, $4 port, $5 (optional) prefix of a per-transaction log
    local out
    out=$(PGPASSWORD="$app_password" "$bin/pgbench" -n -M "$2" -c "$clients" -j 2 -T "$duration" $scripts \
        ${5:+-l --log-prefix="$5"} -h "$3" -p "$4" -U engagement_app "$pgdb" 2>&1) \
        || { echo "pgbench ($1) failed:" >&2; echo "$out" | tail -5 >&2; }
    local tps
    tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | tail -1)
    echo "$1|$tps" >> "$dir/results.txt"
    echo "$out" > "$dir/pgbench-$1.log"
}

: > "$dir/results.txt"
# The server's point read and pgbench on its SQL, alternately, ROUNDS times: both see the same machine noise
# (throughput on this shared 2-core machine drifts by ±15 % over minutes), and the ratio is taken per round.
: > "$dir/loadgen.md"
for round in $(seq 1 "$rounds"); do
    # Its per-transaction log gives pgbench's own latency percentiles (a file per thread:
    # $dir/txlog/round-N.<pid> and round-N.<pid>.1).
    mkdir -p "$dir/txlog"
    run_pgbench "pgbench direct, prepared, round $round" prepared "$pghost" "$pgport" "$dir/txlog/round-$round"
    "$release/engagement-loadgen" --connection-file "$dir/keys.json" --scenario point-read --connections "$clients" \
        --depth 1 --duration "$duration" --warmup 5 --server-pid "$server" --postgres-pid "$postmaster" \
        --output "$dir/loadgen-$round.json" > "$dir/loadgen-$round.md"
    [ "$round" = 1 ] && head -2 "$dir/loadgen-$round.md" >> "$dir/loadgen.md"
    tail -1 "$dir/loadgen-$round.md" >> "$dir/loadgen.md"
    cps=$(python3 -c "import json;print(json.load(open('$dir/loadgen-$round.json'))['calls_per_second'])")
    echo "server point read (engagement-loadgen), round $round|$cps" >> "$dir/results.txt"
done
[ "${EXTENDED:-0}" = 1 ] && run_pgbench "pgbench direct, extended" extended "$pghost" "$pgport"

# pgbouncer in transaction mode with as many server connections as the server's pool.
cat > "$dir/pgbouncer.ini" <<INI
[databases]
$pgdb = host=$pghost port=$pgport dbname=$pgdb
[pgbouncer]
listen_addr = 127.0.0.1
listen_port = 6543
auth_type = plain
auth_file = $dir/userlist.txt
pool_mode = transaction
default_pool_size = $pool
max_client_conn = 1000
pidfile = $dir/pgbouncer.pid
logfile = $dir/pgbouncer.log
INI
echo "\"engagement_app\" \"$app_password\"" > "$dir/userlist.txt"
chmod 600 "$dir/userlist.txt"
[ "$(id -u)" = 0 ] && chown postgres "$dir" "$dir/pgbouncer.ini" "$dir/userlist.txt"
if [ "$(id -u)" = 0 ]; then runuser -u postgres -- pgbouncer -d "$dir/pgbouncer.ini"; else pgbouncer -d "$dir/pgbouncer.ini"; fi
sleep 1
# Prepared statements do not survive transaction pooling in this pgbouncer: extended protocol, unnamed statements.
run_pgbench "pgbench via pgbouncer, extended" extended 127.0.0.1 6543


# Optional: the other scenarios over the same data (list page, write, rollup, mix), one row each.
for scenario in ${SCENARIOS:-}; do
    "$release/engagement-loadgen" --connection-file "$dir/keys.json" --scenario "$scenario" --connections "$clients" \
        --depth 1 --duration "$duration" --warmup 5 --server-pid "$server" --postgres-pid "$postmaster" \
        --output "$dir/loadgen-$scenario.json" | tail -1 >> "$dir/scenarios.md"
done

# Optional: where the time goes. The same point-read load again, sampled system-wide by perf (every process on
# the machine: server, PostgreSQL backends, load generator, kernel), summarised by process, by shared object
# and by symbol.
if [ "${PROFILE:-0}" = 1 ]; then
    command -v perf >/dev/null 2>&1 || { export DEBIAN_FRONTEND=noninteractive; apt-get install -y -qq linux-perf >/dev/null; }
    "$release/engagement-loadgen" --connection-file "$dir/keys.json" --scenario point-read --connections "$clients" \
        --depth 1 --duration "$((duration + 10))" --warmup 5 > /dev/null &
    loadgen=$!
    sleep 8
    perf record -a -F 999 -o "$dir/perf.data" -- sleep "$duration" 2> /dev/null
    wait "$loadgen"
    perf script -i "$dir/perf.data" -F comm,pid,ip,sym,dso 2>/dev/null | python3 "$repo/Benchmarks/perf-summary.py" \
        | swift demangle --simplified > "$dir/profile.txt"
    echo "profile: $dir/profile.txt"
fi

echo
echo "Machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(date -u +%Y-%m-%d), commit $(git -C "$repo" rev-parse --short HEAD); $clients clients, ${duration} s, $orgs organisations × $per_org engagements ($months months of check-ins), server pool $pool; autogroup scheduling $(case "$(cat "$autogroup" 2>/dev/null)" in 1) echo on;; 0) echo off;; *) echo "not available";; esac)"
echo
# Ratios: the server's round r against pgbench's round r; the references (pgbouncer, extended) against the
# median of the server's rounds.
python3 - "$dir/results.txt" <<'PY'
import re, statistics, sys
rows = [line.rstrip("\n").split("|") for line in open(sys.argv[1]) if line.strip()]
server = {re.search(r"round (\d+)", label).group(1): float(tps) for label, tps in rows if label.startswith("server")}
median = statistics.median(server.values())
print("| what | transactions or calls/s | ratio server ÷ this |")
print("|---|---|---|")
for label, tps in rows:
    if label.startswith("server"):
        continue
    value = float(tps or 0)
    round_ = re.search(r"round (\d+)", label)
    reference = server[round_.group(1)] if round_ else median
    print(f"| {label} | {value:,.0f} | {reference / value:.2f} |" if value else f"| {label} | failed | – |")
for round_, cps in server.items():
    print(f"| server point read (engagement-loadgen), round {round_} | {cps:,.0f} | 1.00 |")
ratios = [server[r] / float(tps) for label, tps in rows if label.startswith("pgbench direct, prepared")
          for r in [re.search(r"round (\d+)", label).group(1)] if float(tps or 0) > 0]
if ratios:
    print(f"\nserver ÷ pgbench prepared, per round: {', '.join(f'{x:.2f}' for x in ratios)}; median {statistics.median(ratios):.2f}")
PY
# Tail latency side by side: the server's point-read p99 over the wire (engagement-loadgen, 32 connections) against
# pgbench's own p99 on the same SQL from its per-transaction log (third column: the transaction's time in µs).
python3 - "$dir" "$rounds" <<'PY'
import glob, json, sys
d, rounds = sys.argv[1], int(sys.argv[2])
def percentile(values, q):
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]
print("\n| round | pgbench p50 / p99 / p99.9 ms | server p50 / p99 / p99.9 ms | p99 ratio server ÷ pgbench |")
print("|---|---|---|---|")
ratios = []
for r in range(1, rounds + 1):
    times = [int(line.split()[2]) / 1000 for path in glob.glob(f"{d}/txlog/round-{r}.*") for line in open(path) if line.strip()]
    server = json.load(open(f"{d}/loadgen-{r}.json"))["latency_ms"]
    if not times:
        print(f"| {r} | no log | {server['p50']} / {server['p99']} / {server['p99_9']} | – |")
        continue
    p50, p99, p999 = percentile(times, 0.5), percentile(times, 0.99), percentile(times, 0.999)
    ratios.append(server["p99"] / p99)
    print(f"| {r} | {p50:.2f} / {p99:.2f} / {p999:.2f} | {server['p50']} / {server['p99']} / {server['p99_9']} | {server['p99'] / p99:.2f} |")
if ratios:
    print(f"\npoint-read p99, server ÷ pgbench, per round: {', '.join(f'{x:.2f}' for x in ratios)}")
PY
echo
cat "$dir/loadgen.md"
[ -f "$dir/scenarios.md" ] && cat "$dir/scenarios.md"
echo
echo "| idle authenticated TLS connections | server RSS before (MiB) | after (MiB) | per connection (KiB) |"
echo "|---|---|---|---|"
for count in $idle_counts; do
    "$release/engagement-loadgen" --connection-file "$dir/keys.json" --idle "$count" --server-pid "$server" | tail -1
done
echo
echo "compare.sh took ${SECONDS} s (release build included)"
