#!/bin/bash
# Writes the auth file from the environment (only the server's role pools here), then runs pgbouncer.
set -euo pipefail
umask 077
printf '"engagement_app" "%s"\n' "$ENGAGEMENT_APP_PASSWORD" > /tmp/userlist.txt
exec pgbouncer /etc/pgbouncer/pgbouncer.ini
