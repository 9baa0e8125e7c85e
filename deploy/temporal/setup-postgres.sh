#!/bin/sh
# Creates (or upgrades) the Temporal and visibility schemas in PostgreSQL. Runs once per
# `docker compose up` in temporalio/admin-tools, before the server starts; re-running is safe.
set -eu
: "${POSTGRES_SEEDS:?}" "${POSTGRES_USER:?}" "${SQL_PASSWORD:?}"
schema=/etc/temporal/schema/postgresql/v12
for db in temporal temporal_visibility; do
  case $db in
    temporal) dir=$schema/temporal/versioned ;;
    *) dir=$schema/visibility/versioned ;;
  esac
  sql() { temporal-sql-tool --plugin postgres12 --ep "$POSTGRES_SEEDS" -p 5432 -u "$POSTGRES_USER" --db "$db" "$@"; }
  sql create-database 2>/dev/null || echo "database $db exists"
  sql setup-schema -v 0.0 2>/dev/null || echo "schema of $db exists"
  sql update-schema -d "$dir"
done
echo "PostgreSQL schemas are ready"
