#!/usr/bin/env bash
# Row-level security policies with and without sub-selects, side by side (issue 16: Citus refuses a sub-select in a
# policy on a distributed table). The same database is measured with the policies of two revisions, applied in
# turn, ROUNDS times alternating: pgbench (prepared, CLIENTS clients) runs the server's SQL for a point read, a list
# page and the live rollup of a 1,001- and a 10,001-engagement subtree as engagement_app, and two reporting views as
# a tenant DBA's login. Data: Benchmarks/rollups/generate.sql (ORGS organisations × PER_ORG engagements and the two
# subtrees), on a private PostgreSQL 15 cluster.
#
#   bash Benchmarks/policies/run.sh                      # before = a3bcaec (sub-selects), after = the work tree
#   BEFORE=<rev> ROUNDS=3 DURATION=10 bash Benchmarks/policies/run.sh
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
dir="${BENCH_DIR:-/tmp/engagement-policies}"
port="${BENCH_PORT:-55497}"
before="${BEFORE:-a3bcaec}"
rounds="${ROUNDS:-3}"
duration="${DURATION:-10}"
clients="${CLIENTS:-8}"
orgs="${ORGS:-20}" per_org="${PER_ORG:-10000}"
ctl="${ENGAGEMENTCTL:-$repo/.build/debug/engagementctl}"
bin=/usr/lib/postgresql/15/bin
[ -x "$ctl" ] || (cd "$repo" && swift build --product engagementctl >/dev/null)

as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
psql_do() { PGOPTIONS="-c client_min_messages=warning" psql -h "$dir" -p "$port" -U postgres -d policies -v ON_ERROR_STOP=1 -qAt "$@"; }

rm -rf "$dir"; mkdir -p "$dir/variants" "$dir/pgbench"; [ "$(id -u)" = 0 ] && chown postgres "$dir"
as_postgres "$bin/initdb" -D "$dir/data" -A trust -U postgres >/dev/null
as_postgres "$bin/pg_ctl" -D "$dir/data" -o "-p $port -k $dir -c shared_buffers=1GB -c work_mem=64MB -c max_wal_size=4GB" \
    -l "$dir/log" -w start >/dev/null
trap 'as_postgres "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null' EXIT
"$ctl" bootstrap --superuser-url "postgresql://postgres@/postgres?host=$dir&port=$port" --database policies \
    --owner-password bench --app-password bench --sql "$repo/SQL" >/dev/null 2>&1
psql_do -v orgs="$orgs" -v per_org="$per_org" -v subtrees=true -f "$repo/Benchmarks/rollups/generate.sql" >/dev/null
owner_url="postgresql://engagement_owner:bench@/policies?host=$dir&port=$port"
psql_do -c "INSERT INTO app.users (organisation_id, email, display_name, role)
    SELECT id, 'bench@example.com', 'Bench', 'admin' FROM app.organisations WHERE name = 'Bench 1'"
key=$("$ctl" key create --org "Bench 1" --user bench@example.com --database-url "$owner_url" 2>/dev/null | awk '/esk_/ {print $NF}' | cut -d_ -f2)
dba_password=$("$ctl" reporting-role create --org "Bench 1" --name bench_dba --database-url "$owner_url" | awk '/^password/ {print $2}')
# The point reads pick one of the organisation's first 10,000 engagements by number.
psql_do -c "CREATE TABLE public.bench_ids AS SELECT row_number() OVER (ORDER BY id)::int AS n, id FROM app.engagements
    WHERE organisation_id = (SELECT id FROM app.organisations WHERE name = 'Bench 1') AND code NOT LIKE 'E_______'
    ORDER BY id LIMIT 10000; ALTER TABLE public.bench_ids ADD PRIMARY KEY (n); GRANT USAGE ON SCHEMA public TO engagement_app;
    GRANT SELECT ON public.bench_ids TO engagement_app"
ids=$(psql_do -c "SELECT count(*) FROM public.bench_ids")
psql_do -c "VACUUM ANALYZE" >/dev/null
root_1001=$(psql_do -c "SELECT id FROM app.engagements WHERE code = 'E1000001'")
root_10001=$(psql_do -c "SELECT id FROM app.engagements WHERE code = 'E2000001'")

call() { printf '\\startpipeline\nSELECT app.begin_call('"'%s'"', '"'%s'"');\n%s\n\\endpipeline\n' "$key" "$1" "$2"; }
{ echo "\\set n random(1, $ids)"; call engagement.get "SELECT api.engagement_get(jsonb_build_object('id', (SELECT id FROM public.bench_ids WHERE n = :n)));"; } > "$dir/pgbench/point.sql"
call engagement.list "SELECT api.engagement_list('{\"limit\": 20}');" > "$dir/pgbench/list.sql"
call engagement.rollup "SELECT api.engagement_rollup('{\"id\": \"$root_1001\", \"fresh\": true}');" > "$dir/pgbench/rollup-1001.sql"
call engagement.rollup "SELECT api.engagement_rollup('{\"id\": \"$root_10001\", \"fresh\": true}');" > "$dir/pgbench/rollup-10001.sql"
echo "SELECT count(*), count(DISTINCT status) FROM reporting.engagements;" > "$dir/pgbench/dba-engagements.sql"
echo "SELECT currency, sum(actual) FROM reporting.finance GROUP BY currency;" > "$dir/pgbench/dba-finance.sql"

# The two variants: the policy helpers and the policies file of each revision.
git -C "$repo" show "$before:SQL/definitions/0012_audit_and_policy_helpers.sql" > "$dir/variants/before-helpers.sql"
git -C "$repo" show "$before:SQL/definitions/9000_policies.sql" > "$dir/variants/before-policies.sql"
cp "$repo/SQL/definitions/0012_audit_and_policy_helpers.sql" "$dir/variants/after-helpers.sql"
cp "$repo/SQL/definitions/9000_policies.sql" "$dir/variants/after-policies.sql"
apply() { psql "$owner_url" -v ON_ERROR_STOP=1 -q -1 -f "$dir/variants/$1-helpers.sql" -f "$dir/variants/$1-policies.sql" >/dev/null 2>&1; }

tps() {  # $1 script, $2 user, $3 password, $4 clients
    PGPASSWORD="$3" "$bin/pgbench" -n -M prepared -c "$4" -j 2 -T "$duration" -f "$dir/pgbench/$1.sql" \
        -h "$dir" -p "$port" -U "$2" policies 2>&1 | sed -n 's/^tps = \([0-9.]*\).*/\1/p' | tail -1
}

echo "machine: $(nproc) cores, $(free -g | awk '/Mem:/ {print $2}') GiB; $(date -u +%F); commit $(git -C "$repo" rev-parse --short HEAD) (+ work tree); before = $before"
echo "$orgs organisations × $per_org engagements + subtrees: $(psql_do -c "SELECT count(*) FROM app.engagements") engagements; pgbench -M prepared, ${duration} s per run"
echo "| scenario | round | before tps | after tps | after ÷ before |"
echo "|---|---|---|---|---|"
for round in $(seq 1 "$rounds"); do
    for scenario in point list rollup-1001 rollup-10001 dba-engagements dba-finance; do
        case "$scenario" in
            dba-*) user=bench_dba password="$dba_password" n=2 ;;
            rollup-*) user=engagement_app password=bench n=2 ;;
            *) user=engagement_app password=bench n="$clients" ;;
        esac
        # Alternate which goes first, so drift over a round does not favour one.
        if [ $((round % 2)) = 1 ]; then
            apply before; b=$(tps "$scenario" "$user" "$password" "$n"); apply after; a=$(tps "$scenario" "$user" "$password" "$n")
        else
            apply after; a=$(tps "$scenario" "$user" "$password" "$n"); apply before; b=$(tps "$scenario" "$user" "$password" "$n")
        fi
        python3 -c "import sys; b, a = float(sys.argv[3]), float(sys.argv[4]); print(f'| {sys.argv[1]} | {sys.argv[2]} | {b:,.1f} | {a:,.1f} | {a / b:.2f} |')" \
            "$scenario" "$round" "${b:-0}" "${a:-0}"
    done
done
