#!/usr/bin/env bash
# Instructions per point read (issue 17), counted by valgrind's callgrind: counts do not drift with the shared
# machine's load the way calls a second do, so a commit's effect on the work per call shows run to run.
#
#   bash Benchmarks/instructions/run.sh                      # about 6 minutes on 2 cores after the release build
#   WINDOW=30 TRANSACTIONS="200 1000" bash Benchmarks/instructions/run.sh
#   SERVER_ONLY=1 bash Benchmarks/instructions/run.sh         # the server's count alone (about 2 minutes)
#
# Two figures, each for `engagement.get` of the dev mode's demo data:
# - the server: `engagementd dev` (release build) runs under callgrind, not instrumented until told; while the
#   load generator keeps 4 connections busy with point reads, instrumentation is switched on for $WINDOW seconds
#   (connections, TLS handshakes and authentication happen before), and the instructions counted are divided by
#   the calls the server answered meanwhile (its /metrics counter, read before and after; the boundary error is
#   at most the 4 calls in flight).
# - PostgreSQL: the same cluster's postmaster under callgrind (children traced), and pgbench on one connection
#   running each script beside this one (`point-read.sql`: the server's two statements for the call, the tenant
#   context (with the organisation, as the server passes it) then api.engagement_get, in one pipeline, prepared;
#   `begin-call.sql`: the context alone; `select-one.sql`: the floor) twice, with two transaction counts: the
#   difference of the two backends' counts divided by the difference of the transactions is the work per call,
#   without the connection's start and end.
#
# Everything runs under $BENCH_DIR (default /tmp/engagement-instructions), removed first.
set -euo pipefail
repo="$(cd "$(dirname "$0")/../.." && pwd)"
dir="${BENCH_DIR:-/tmp/engagement-instructions}"
port="${BENCH_PORT:-7943}"
metrics_port="${METRICS_PORT:-7944}"
window="${WINDOW:-20}"
read -r few many <<< "${TRANSACTIONS:-200 600}"
bin=/usr/lib/postgresql/15/bin
command -v valgrind >/dev/null 2>&1 || { export DEBIAN_FRONTEND=noninteractive; apt-get install -y -qq valgrind >/dev/null; }
cd "$repo"
swift build -c release -debug-info-format none --scratch-path "$repo/.build-bench" 2>&1 | tail -1
release="$repo/.build-bench/release"
rm -rf "$dir" && mkdir -p "$dir/pg"
as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
[ "$(id -u)" = 0 ] && chown postgres "$dir/pg"
total() { python3 -c "import sys; print(next(int(l.split()[1]) for l in open(sys.argv[1]) if l.startswith('totals:')))" "$1"; }

# The server. (Every Swift program here needs the shim beside this script under Debian's valgrind: see it.)
cc -O2 -shared -fPIC -o "$dir/sigsuspend-copy.so" "$repo/Benchmarks/instructions/sigsuspend-copy.c"
LD_PRELOAD="$dir/sigsuspend-copy.so" valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$dir/server.callgrind" \
    "$release/engagementd" dev --directory "$dir/dev" --port "$port" --metrics-port "$metrics_port" --sql "$repo/SQL" \
    --log-level warning > "$dir/server.log" 2>&1 &
server=$!
trap 'kill -INT "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do grep -q "\"port\":$port" "$dir/dev/connection.json" 2>/dev/null && break; sleep 1; done
answered() {
    curl -fsS "http://127.0.0.1:$metrics_port/metrics" \
        | awk '/^engagement_rpc_calls_total\{/ && /method="engagement.get"/ && /outcome="ok"/ { n += $2 } END { print n + 0 }'
}
"$release/engagement-loadgen" --connection-file "$dir/dev/connection.json" --organisation 0 --scenario point-read \
    --connections 4 --depth 1 --duration $((window + 40)) --warmup 0 --output "$dir/loadgen.json" > /dev/null &
loadgen=$!
sleep 30  # connected, authenticated, the caches warm (under callgrind everything is about 50 times slower)
before=$(answered)
callgrind_control -i on "$server" > /dev/null
sleep "$window"
callgrind_control -i off "$server" > /dev/null
after=$(answered)
callgrind_control -d "$server" > /dev/null
wait "$loadgen"
server_total=$(total "$(ls "$dir"/server.callgrind* | grep -v '\.log$' | sort | tail -1)")
kill -INT "$server"; wait "$server" 2>/dev/null || true
trap - EXIT

: > "$dir/postgres.txt"
if [ -z "${SERVER_ONLY:-}" ]; then
# PostgreSQL: the same cluster, its postmaster under callgrind.
data=$(dirname "$(find "$dir/dev/postgres" -name PG_VERSION -maxdepth 3 | head -1)")
eval "$(python3 - "$dir" <<'PY'
import json, sys, urllib.parse
d = sys.argv[1]
u = urllib.parse.urlparse(json.load(open(f"{d}/dev/connection.json"))["database_url"])
creds = json.load(open(f"{d}/dev/credentials.json"))
print(f"pgport={u.port}; pgdb={u.path.lstrip('/')}; owner_url='{json.load(open(f'{d}/dev/connection.json'))['database_url']}'; app_password={creds['application_password']}")
PY
)"
as_postgres valgrind --tool=callgrind --trace-children=yes --callgrind-out-file="$dir/pg/callgrind.%p" \
    "$bin/postgres" -D "$data" -c autovacuum=off > "$dir/pg/postgres.log" 2>&1 &
postmaster=$!
trap 'as_postgres "$bin/pg_ctl" stop -D "$data" -m fast > /dev/null 2>&1 || true' EXIT
for _ in $(seq 1 120); do "$bin/pg_isready" -q -h 127.0.0.1 -p "$pgport" && break; sleep 1; done
read -r key organisation engagement <<< "$(psql "$owner_url" -qAt -F ' ' -c "
    SELECT k.key_id, k.organisation_id, e.id FROM app.api_keys k JOIN app.engagements e ON e.organisation_id = k.organisation_id
    WHERE k.revoked_at IS NULL ORDER BY k.created_at, e.id LIMIT 1")"
backend_total() {  # $1 script, $2 transactions: the count of the backend pgbench's one connection ran in
    local seen
    seen=$(ls "$dir/pg")
    PGPASSWORD="$app_password" "$bin/pgbench" -n -M prepared -c 1 -t "$2" -f "$1" -D key="$key" -D organisation="$organisation" -D engagement="$engagement" \
        -h 127.0.0.1 -p "$pgport" -U engagement_app "$pgdb" > "$dir/pgbench-$(basename "$1" .sql)-$2.log" 2>&1
    sleep 2  # the backend writes its counts as it exits
    # The backend is the process that exited meanwhile with by far the most work.
    comm -13 <(echo "$seen") <(ls "$dir/pg") | grep '^callgrind\.[0-9]*$' | while read -r f; do total "$dir/pg/$f"; done \
        | sort -n | tail -1
}
for script in "$repo"/Benchmarks/instructions/*.sql; do
    echo "$(basename "$script" .sql) $(backend_total "$script" "$few") $(backend_total "$script" "$many")" >> "$dir/postgres.txt"
done
as_postgres "$bin/pg_ctl" stop -D "$data" -m fast > /dev/null; wait "$postmaster" 2>/dev/null || true
trap - EXIT
fi

python3 - "$server_total" "$before" "$after" "$few" "$many" "$dir/postgres.txt" <<'PY'
import sys
server, before, after, few, many = map(float, sys.argv[1:6])
calls = after - before
print("| what | instructions per call |")
print("|---|---|")
print(f"| server, point read over TLS ({server:,.0f} instructions over {calls:,.0f} calls) | {server / calls:,.0f} |")
for line in open(sys.argv[6]):
    name, at_few, at_many = line.split()
    print(f"| PostgreSQL, `{name}.sql` (one backend, {many - few:.0f} transactions' difference) | {(float(at_many) - float(at_few)) / (many - few):,.0f} |")
PY
echo "machine: $(nproc) cores; $(date -u +%F); commit $(git rev-parse --short HEAD)"
