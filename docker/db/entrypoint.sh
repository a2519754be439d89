#!/bin/sh
# The database container's entrypoint: on the first start (an empty PGDATA) create the cluster, the
# superuser POSTGRES_USER with POSTGRES_PASSWORD, the database POSTGRES_DB and PostGIS in it; then run
# PostgreSQL in the foreground as PID 1. Local (socket) connections are trusted, TCP ones need the password
# (scram-sha-256). Runs as the postgres user.
set -eu

: "${POSTGRES_USER:=postgres}"
: "${POSTGRES_DB:=$POSTGRES_USER}"
: "${POSTGRES_LISTEN_ADDRESSES:=*}"
: "${PGDATA:=/var/lib/postgresql/data}"
: "${PGPORT:=5432}"
export PGDATA PGPORT

say() { echo "peta-db: $*" >&2; }

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ]; then
    say "error: POSTGRES_PASSWORD is empty; it is needed to create the database the first time"
    exit 1
  fi
  if [ -n "$(ls -A "$PGDATA" 2>/dev/null)" ]; then
    say "error: $PGDATA is not empty but holds no cluster (remove the volume: docker compose down -v)"
    exit 1
  fi
  say "first start: creating the cluster in $PGDATA"
  # a failed first start leaves nothing behind, so the next start tries again from scratch
  trap 'say "setup failed: removing the partial cluster"; pg_ctl -D "$PGDATA" -m immediate stop >/dev/null 2>&1 || true; find "$PGDATA" -mindepth 1 -delete' EXIT
  pwfile="$(mktemp)"
  printf '%s\n' "$POSTGRES_PASSWORD" >"$pwfile"
  initdb -D "$PGDATA" --username="$POSTGRES_USER" --pwfile="$pwfile" --encoding=UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 >/dev/null
  rm -f "$pwfile"
  echo "host all all all scram-sha-256" >>"$PGDATA/pg_hba.conf"
  # set up on the local socket only: nothing can connect over TCP (nor the health check pass) until done
  pg_ctl -D "$PGDATA" -w -t 60 -o "-c listen_addresses=''" start >/dev/null
  if [ "$POSTGRES_DB" != postgres ]; then
    psql -v ON_ERROR_STOP=1 -q -U "$POSTGRES_USER" -d postgres -v db="$POSTGRES_DB" <<'SQL'
CREATE DATABASE :"db";
SQL
  fi
  psql -v ON_ERROR_STOP=1 -q -U "$POSTGRES_USER" -d "$POSTGRES_DB" -c 'CREATE EXTENSION IF NOT EXISTS postgis'
  pg_ctl -D "$PGDATA" -w -m fast stop >/dev/null
  trap - EXIT
  say "database \"$POSTGRES_DB\" with PostGIS is ready (user \"$POSTGRES_USER\")"
fi

say "starting PostgreSQL on port $PGPORT (listen_addresses=$POSTGRES_LISTEN_ADDRESSES)"
exec postgres -D "$PGDATA" -c listen_addresses="$POSTGRES_LISTEN_ADDRESSES" "$@"
