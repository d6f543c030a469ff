#!/bin/sh
# First start: a cluster with the password from POSTGRES_PASSWORD and a database "portal".
set -eu
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  printf '%s\n' "$POSTGRES_PASSWORD" > /tmp/pw
  initdb --pgdata="$PGDATA" --username=postgres --pwfile=/tmp/pw --auth-local=trust \
    --encoding=UTF8 --locale=C.UTF-8 \
    --auth-host=scram-sha-256 >/dev/null
  rm /tmp/pw
  echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
  echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
  pg_ctl --pgdata="$PGDATA" --silent --wait start -o "-c listen_addresses=''"
  createdb portal
  pg_ctl --pgdata="$PGDATA" --silent --wait stop
fi
exec postgres
