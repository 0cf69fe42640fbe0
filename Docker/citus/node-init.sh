#!/bin/bash
# Runs once on every Citus node, when its data directory is created (docker-entrypoint-initdb.d, after the image's
# own script has made the citus extension in `postgres`):
# - on a worker, the service's database with the citus extension: Citus does not propagate CREATE DATABASE (on the
#   coordinator `engagementctl bootstrap` creates it, owned by the service's owner role);
# - on every node, the nodes trust each other's addresses (CITUS_NODE_ADDRESSES, fixed in compose.citus.yaml),
#   first in pg_hba.conf: the coordinator connects to the workers, and they to each other, as whichever role runs
#   the query (the server's, the owner's, a tenant DBA's reporting login), whose passwords only the clients know.
#   Everyone else, from anywhere, still needs a password (scram-sha-256).
set -euo pipefail
if [ "${CITUS_NODE_ROLE}" = worker ]; then
  psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres <<SQL
CREATE DATABASE ${SERVICE_DATABASE};
\connect ${SERVICE_DATABASE}
CREATE EXTENSION citus;
SQL
fi
rules=""
for address in ${CITUS_NODE_ADDRESSES}; do
  rules+="host all all ${address}/32 trust"$'\n'
done
printf '%s' "$rules" | cat - "$PGDATA/pg_hba.conf" > "$PGDATA/pg_hba.conf.new"
mv "$PGDATA/pg_hba.conf.new" "$PGDATA/pg_hba.conf"
