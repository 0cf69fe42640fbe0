#!/usr/bin/env bash
# Timeline search under row-level security: p50/p99 of timeline.list's SQL (api.timeline_list) for searches of
# rare, medium and common words and two-word queries, in an organisation of 1,000,000 entries beside 100
# organisations of 100,000, as the server's role with the tenant context set; and, for contrast, the same search
# written as a plain query under RLS. Plans go to $BENCH_DIR/plans.txt.
#
#   bash Benchmarks/timeline/run.sh                      # BIG=1000000 ORGS=100 PER_ORG=100000
#   BIG=100000 ORGS=10 PER_ORG=10000 bash Benchmarks/timeline/run.sh
#   SKIP_LOAD=1 bash Benchmarks/timeline/run.sh          # measure again on the database of the last run
#
# The schema is made by `engagementctl bootstrap` (the real owner, roles and grants); the entries are bulk-loaded
# by generate.sql. Timings are taken inside PostgreSQL (no network, no JSON-RPC); Benchmarks/README.md has results.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
bin=/usr/lib/postgresql/15/bin
dir="${BENCH_DIR:-/tmp/engagement-timeline-bench}"
port="${BENCH_PORT:-55498}"
big="${BIG:-1000000}"; orgs="${ORGS:-100}"; per_org="${PER_ORG:-100000}"
runs="${RUNS:-100}"

as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
mkdir -p "$dir"; [ "$(id -u)" = 0 ] && chown postgres "$dir"
if [ ! -f "$dir/data/PG_VERSION" ]; then as_postgres "$bin/initdb" -D "$dir/data" -A trust -U postgres >/dev/null; fi
as_postgres "$bin/pg_ctl" -D "$dir/data" -o "-p $port -k $dir -c listen_addresses='' -c shared_buffers=2GB -c work_mem=64MB -c max_wal_size=8GB" \
    -l "$dir/log" -w start >/dev/null
trap 'as_postgres "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null' EXIT
psql_do() { psql -h "$dir" -p "$port" -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }

if [ -z "${SKIP_LOAD:-}" ]; then
    psql_do -d postgres -c "SET client_min_messages = warning" -c "DROP DATABASE IF EXISTS timeline_bench"
    (cd "$repo" && swift build --product engagementctl >/dev/null && ./.build/debug/engagementctl bootstrap \
        --superuser-url "host=$dir port=$port user=postgres dbname=postgres" --database timeline_bench \
        --owner-password bench --app-password bench >/dev/null 2>&1)
    start=$(date +%s)
    psql_do -d timeline_bench -v big="$big" -v orgs="$orgs" -v per_org="$per_org" -f "$here/generate.sql" >/dev/null
    echo "loaded $(psql_do -d timeline_bench -c "SELECT count(*) FROM app.timeline_entries") entries in $(( $(date +%s) - start )) s"
fi

# Words by how often they occur in the organisation (counted over its first 50,000 entries): rare (in 0.01–0.1 %
# of entries), medium (1–5 %), common (over 15 %).
measure() {  # $1: organisation name, $2: label
psql_do -d timeline_bench <<SQL
CREATE TEMPORARY TABLE vocabulary AS
SELECT word, ndoc::float8 / (SELECT least(count(*), 50000) FROM app.timeline_entries t JOIN app.organisations o ON o.id = t.organisation_id
                             WHERE o.name = '$1') AS share
FROM ts_stat(\$\$SELECT to_tsvector('simple', t.title || ' ' || t.body) FROM app.timeline_entries t
                JOIN app.organisations o ON o.id = t.organisation_id WHERE o.name = '$1'
                ORDER BY t.id LIMIT 50000\$\$);
CREATE TEMPORARY TABLE queries AS
SELECT kind, q FROM (
    SELECT 'rare' AS kind, word AS q, row_number() OVER (ORDER BY md5(word)) AS n FROM vocabulary WHERE share BETWEEN 0.0001 AND 0.001
    UNION ALL SELECT 'medium', word, row_number() OVER (ORDER BY md5(word)) FROM vocabulary WHERE share BETWEEN 0.01 AND 0.05
    UNION ALL SELECT 'common', word, row_number() OVER (ORDER BY md5(word)) FROM vocabulary WHERE share > 0.15
    UNION ALL SELECT 'two words', a.word || ' ' || b.word, row_number() OVER (ORDER BY md5(a.word || b.word))
    FROM vocabulary a JOIN vocabulary b ON a.word < b.word WHERE a.share BETWEEN 0.01 AND 0.05 AND b.share BETWEEN 0.01 AND 0.05) x
WHERE n <= $runs;
CREATE TEMPORARY TABLE timings (kind text, ms numeric);
GRANT SELECT ON queries TO engagement_app;
GRANT INSERT, SELECT ON timings TO engagement_app;
SELECT set_config('app.organisation_id', id::text, false) FROM app.organisations WHERE name = '$1' \g /dev/null
SET SESSION AUTHORIZATION engagement_app;
DO \$\$
DECLARE
    r record;
    started timestamptz;
    reply jsonb;
BEGIN
    FOR r IN SELECT * FROM queries ORDER BY md5(q) LOOP
        started := clock_timestamp();
        reply := api.timeline_list(jsonb_build_object('q', r.q, 'limit', 50));
        INSERT INTO timings VALUES (r.kind, extract(epoch FROM clock_timestamp() - started) * 1000);
    END LOOP;
    -- One engagement's search (10,000 entries in the big organisation).
    FOR r IN SELECT * FROM queries WHERE kind = 'medium' LOOP
        started := clock_timestamp();
        reply := api.timeline_list(jsonb_build_object('q', r.q, 'limit', 50, 'engagement_id',
            (SELECT id FROM app.engagements WHERE organisation_id = app.current_organisation_id() AND code = 'E7')));
        INSERT INTO timings VALUES ('medium, one engagement', extract(epoch FROM clock_timestamp() - started) * 1000);
    END LOOP;
    -- Contrast: the same search as a plain query under row-level security (5 rare words).
    FOR r IN SELECT * FROM queries WHERE kind = 'rare' LIMIT 5 LOOP
        started := clock_timestamp();
        PERFORM count(*) FROM (SELECT t.id FROM app.timeline_entries t
                               WHERE t.search @@ (websearch_to_tsquery('english', r.q) || websearch_to_tsquery('simple', r.q))
                               ORDER BY t.occurred_at DESC LIMIT 50) x;
        INSERT INTO timings VALUES ('rare, plain query under RLS', extract(epoch FROM clock_timestamp() - started) * 1000);
    END LOOP;
END \$\$;
SELECT '| $2 | ' || kind || ' | ' || count(*) || ' | ' || round((percentile_cont(0.5) WITHIN GROUP (ORDER BY ms))::numeric, 2)
       || ' | ' || round((percentile_cont(0.99) WITHIN GROUP (ORDER BY ms))::numeric, 2) || ' |'
FROM timings GROUP BY kind ORDER BY min(ms);
SQL
}
echo "| organisation | query | runs | p50 (ms) | p99 (ms) |"
echo "|---|---|---|---|---|"
measure "Search 0" "$big entries"
measure "Search 1" "$per_org entries"

# Plans of one rare and one common search in the big organisation, with the values written in (as the
# function's EXECUTE plans them).
org_id=$(psql_do -d timeline_bench -c "SELECT id FROM app.organisations WHERE name = 'Search 0'")
words=$(psql_do -d timeline_bench -F ' ' -c "WITH w AS (SELECT word, ndoc FROM ts_stat(\$\$SELECT to_tsvector('simple', title || ' ' || body)
    FROM app.timeline_entries WHERE organisation_id = '$org_id' ORDER BY id LIMIT 50000\$\$))
    SELECT (SELECT word FROM w WHERE ndoc BETWEEN 5 AND 50 ORDER BY word LIMIT 1), (SELECT word FROM w ORDER BY ndoc DESC LIMIT 1)")
: > "$dir/plans.txt"
for word in $words; do
    echo "== $word" >> "$dir/plans.txt"
    psql_do -d timeline_bench >> "$dir/plans.txt" <<SQL
EXPLAIN (ANALYZE, BUFFERS) SELECT t FROM app.timeline_entries t
WHERE t.organisation_id = '$org_id' AND t.search @@ (websearch_to_tsquery('english', '$word') || websearch_to_tsquery('simple', '$word'))
ORDER BY t.occurred_at DESC, t.id DESC LIMIT 51;
SQL
done
echo "plans: $dir/plans.txt"
