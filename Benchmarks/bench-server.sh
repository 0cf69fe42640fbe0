# Shared by Benchmarks/rollups/run.sh and Benchmarks/curves/run.sh (sourced, not run): a private PostgreSQL 15
# cluster, a database set up as an operator does, an API key of one bulk-loaded organisation, and a real
# `engagementd serve` on it (release build). The caller sets `repo`, `dir`, `port` and `server_port` first.
bin=/usr/lib/postgresql/15/bin
release="$repo/.build-bench/release"
server=""

as_postgres() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
psql_do() { PGOPTIONS="-c client_min_messages=warning" psql -h "$dir" -p "$port" -U postgres -v ON_ERROR_STOP=1 -qAt "$@"; }

# Builds the release binaries, creates (or keeps) the cluster under $dir and starts it; stops both on exit.
bench_start_cluster() {
    swift build -c release -debug-info-format none --scratch-path "$repo/.build-bench" 2>&1 | tail -1
    mkdir -p "$dir"; [ "$(id -u)" = 0 ] && chown postgres "$dir"
    if [ ! -f "$dir/data/PG_VERSION" ]; then as_postgres "$bin/initdb" -D "$dir/data" -A trust -U postgres >/dev/null; fi
    as_postgres "$bin/pg_ctl" -D "$dir/data" -o "-p $port -k $dir -c shared_buffers=1GB -c work_mem=64MB -c max_wal_size=4GB" \
        -l "$dir/log" -w start >/dev/null
    trap '[ -n "$server" ] && kill "$server"; as_postgres "$bin/pg_ctl" -D "$dir/data" -m fast stop >/dev/null' EXIT
    "$release/engagementctl" certs --directory "$dir/tls" >/dev/null
}

# A fresh database $1 as an operator sets one up: roles, migrations and the current definitions.
bench_database() {
    psql_do -d postgres -c "DROP DATABASE IF EXISTS $1"
    "$release/engagementctl" bootstrap --superuser-url "postgresql://postgres@/postgres?host=$dir&port=$port" \
        --database "$1" --owner-password bench --app-password bench --sql "$repo/SQL" >/dev/null 2>&1
}

# Prints a new API key of an admin made for organisation "$2" of database $1.
bench_key() {
    psql_do -d "$1" -c "INSERT INTO app.users (organisation_id, email, display_name, role)
        SELECT id, 'bench@example.com', 'Bench', 'admin' FROM app.organisations WHERE name = '$2'" >/dev/null
    "$release/engagementctl" key create --org "$2" --user bench@example.com \
        --database-url "postgresql://engagement_owner:bench@/$1?host=$dir&port=$port" 2>/dev/null
}

# Starts `engagementd serve` (default settings, extra ENGAGEMENT_* variables as arguments) on database $1 and
# returns once its first round of rollup refreshes has covered every organisation: measurements are taken in the
# steady state. Sets $server; bench_stop_server stops it.
bench_serve() {
    local database="$1" started organisations
    shift
    started=$(psql_do -d "$database" -c "SELECT clock_timestamp()")
    organisations=$(psql_do -d "$database" -c "SELECT count(*) FROM app.organisations")
    env ENGAGEMENT_TLS_CERT="$dir/tls/server.pem" ENGAGEMENT_TLS_KEY="$dir/tls/server-key.pem" ENGAGEMENT_PORT="$server_port" \
        ENGAGEMENT_DATABASE_URL="postgresql://engagement_app:bench@/$database?host=$dir&port=$port" \
        ENGAGEMENT_METRICS_PORT=off ENGAGEMENT_LOG_LEVEL=warning ENGAGEMENT_SQL_DIR="$repo/SQL" "$@" \
        "$release/engagementd" serve >"$dir/server.log" 2>&1 &
    server=$!
    until [ "$(psql_do -d "$database" -c "SELECT count(DISTINCT organisation_id) FROM rollup.refreshes WHERE started_at > '$started'")" -ge "$organisations" ]; do
        sleep 2
    done
}

bench_stop_server() { kill "$server"; wait "$server" 2>/dev/null || true; server=""; }
