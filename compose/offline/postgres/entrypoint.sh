#!/bin/sh
# Minimal re-implementation of the official postgres image entrypoint.
set -eu
: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
: "${PGDATA:=/var/lib/postgresql/data}"

if [ "${1:-postgres}" = "postgres" ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    echo "Fehler: POSTGRES_PASSWORD ist nicht gesetzt." >&2
    exit 1
  fi
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
  # no fsync per file during the set-up (slow on the vfs storage driver);
  # one sync of the file system below before the real server starts
  initdb --username="$POSTGRES_USER" --pwfile="$pwfile" --auth-local=trust --no-sync \
         --auth-host=scram-sha-256 --encoding=UTF8 --locale=C -D "$PGDATA" >/dev/null
  rm -f "$pwfile"
  printf 'host all all all scram-sha-256\n' >> "$PGDATA/pg_hba.conf"
  # temporary server on the unix socket only, like the official image
  pg_ctl -D "$PGDATA" -o "-c listen_addresses='' -k /var/run/postgresql -c fsync=off" -w start >/dev/null
  export PGHOST=/var/run/postgresql
  if [ "$POSTGRES_DB" != "postgres" ]; then
    psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname postgres \
         -c "CREATE DATABASE \"$POSTGRES_DB\"" >/dev/null
  fi
  for f in /docker-entrypoint-initdb.d/*; do
    case "$f" in
      *.sql) echo "initdb: $f"; psql -v ON_ERROR_STOP=1 --username "$POSTGRES_USER" --dbname "$POSTGRES_DB" -f "$f" ;;
      *.sh)  echo "initdb: $f"; . "$f" ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop >/dev/null
  sync -f "$PGDATA"
  unset PGHOST
  echo "Datenbank $POSTGRES_DB initialisiert."
fi

if [ "${1:-postgres}" = "postgres" ]; then
  [ "$#" -gt 0 ] && shift
  exec postgres -D "$PGDATA" -c listen_addresses='*' -k /var/run/postgresql "$@"
fi
exec "$@"
