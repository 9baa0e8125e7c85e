#!/bin/sh
# Creates (or upgrades) the Temporal and visibility schemas in PostgreSQL with the server's
# temporal-sql-tool and the schemas embedded in it. Runs once per `docker compose up` in
# temporalio/admin-tools, before the server starts, and from deploy/postgres.sh schema with the
# tool go.mod pins (TEMPORAL_SQL_TOOL, DB_PORT); re-running is safe.
set -eu
: "${POSTGRES_SEEDS:?}" "${POSTGRES_USER:?}" "${SQL_PASSWORD:?}"
tool=${TEMPORAL_SQL_TOOL:-temporal-sql-tool}
port=${DB_PORT:-5432}
for db in temporal temporal_visibility; do
  case $db in
    temporal) name=postgresql/v12/temporal ;;
    *) name=postgresql/v12/visibility ;;
  esac
  # The tool reads the password from SQL_PASSWORD, never from its command line.
  sql() { "$tool" --plugin postgres12 --ep "$POSTGRES_SEEDS" -p "$port" -u "$POSTGRES_USER" --db "$db" "$@"; }
  sql create-database 2>/dev/null || echo "database $db exists"
  sql setup-schema -v 0.0 2>/dev/null || echo "schema of $db exists"
  sql update-schema --schema-name "$name"
done
echo "PostgreSQL schemas are ready"
