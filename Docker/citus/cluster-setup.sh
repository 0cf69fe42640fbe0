#!/bin/bash
# One-shot, after `engagementctl bootstrap` made and migrated the service's database on the coordinator: the citus
# extension there, the coordinator's own address, the workers added (re-runnable: what exists is left as it is).
# `engagementctl distribute` comes next (docs/scaling.md, "Onto Citus").
set -euo pipefail
export PGPASSWORD="$POSTGRES_PASSWORD"
psql -v ON_ERROR_STOP=1 -h coordinator -U postgres -d "$SERVICE_DATABASE" <<SQL
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS citus;
SELECT citus_set_coordinator_host('coordinator', 5432);
SELECT citus_add_node(worker, 5432) FROM unnest(string_to_array('${CITUS_WORKERS}', ' ')) AS worker
 WHERE NOT EXISTS (SELECT 1 FROM pg_dist_node WHERE nodename = worker);
SELECT nodename, nodeport, noderole FROM pg_dist_node ORDER BY nodeid;
SQL
