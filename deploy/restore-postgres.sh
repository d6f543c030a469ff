#!/usr/bin/env bash
# Restore a backup into an empty database: deploy/restore-postgres.sh FILE TARGET_URL
# Then point the portal at TARGET_URL (with the same DATA_ENCRYPTION_KEY or SECRET_KEY) and run
# `flask --app wsgi db upgrade` if the backup is older than the code.
set -euo pipefail
file=${1:?usage: restore-postgres.sh FILE TARGET_URL}
url=${2:?usage: restore-postgres.sh FILE TARGET_URL}
url=${url/postgresql+psycopg:/postgresql:}
url=${url/postgres:/postgresql:}
tables=$(psql --no-psqlrc --tuples-only --quiet --dbname="$url" \
  --command="select count(*) from pg_tables where schemaname = 'public'")
if [ "${tables// /}" != "0" ]; then
  echo "restore-postgres: the target database is not empty; restore into a new one" >&2
  exit 2
fi
pg_restore --no-owner --no-privileges --exit-on-error --dbname="$url" "$file"
version=$(psql --no-psqlrc --tuples-only --quiet --dbname="$url" \
  --command="select version_num from alembic_version")
echo "restore-postgres: restored $file (schema version ${version// /})"
