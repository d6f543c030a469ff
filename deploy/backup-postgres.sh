#!/usr/bin/env bash
# Back up the portal's PostgreSQL database: deploy/backup-postgres.sh FILE
# DATABASE_URL (or DATABASE_URL_FILE) names the database, as for the portal itself.
# The dump holds personal data sealed with DATA_ENCRYPTION_KEY (or SECRET_KEY): keep that key
# with the backups' keeper, apart from the dumps, or the sealed columns cannot be read again.
set -euo pipefail
file=${1:?usage: backup-postgres.sh FILE}
url=${DATABASE_URL:-$(cat "${DATABASE_URL_FILE:?DATABASE_URL or DATABASE_URL_FILE is needed}")}
url=${url/postgresql+psycopg:/postgresql:}
url=${url/postgres:/postgresql:}
pg_dump --format=custom --no-owner --no-privileges --file="$file" "$url"
echo "backup-postgres: $(du -h "$file" | cut -f1) written to $file"
