#!/bin/sh
# First start: initdb in $PGDATA (superuser $POSTGRES_USER, password auth over TCP), create
# $POSTGRES_DB, run /docker-entrypoint-initdb.d/*.sh and *.sql on a socket-only server; then
# (every start) exec the server listening on all interfaces of the container.
# The superuser's password comes from the file POSTGRES_PASSWORD_FILE (a compose secret), as
# with the official image, or POSTGRES_PASSWORD; a placeholder is refused (secrets.sh).
set -eu
. /usr/local/lib/adw/secrets.sh
load_secret POSTGRES_PASSWORD
POSTGRES_USER="${POSTGRES_USER:-postgres}"
POSTGRES_DB="${POSTGRES_DB:-$POSTGRES_USER}"
export POSTGRES_USER POSTGRES_DB

if [ "${1:-}" = postgres ] && [ ! -s "$PGDATA/PG_VERSION" ]; then
    pwfile="$(mktemp)"
    printf '%s' "$POSTGRES_PASSWORD" > "$pwfile"
    initdb --pgdata="$PGDATA" --username="$POSTGRES_USER" --pwfile="$pwfile" \
        --encoding=UTF8 --locale=C.UTF-8 --auth-local=trust --auth-host=scram-sha-256 >/dev/null
    rm -f "$pwfile"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    pg_ctl --pgdata="$PGDATA" -w -o "-c listen_addresses=''" start >/dev/null
    if [ "$POSTGRES_DB" != postgres ]; then
        psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d postgres \
            -c "create database \"$POSTGRES_DB\"" >/dev/null
    fi
    for f in /docker-entrypoint-initdb.d/*; do
        case "$f" in
            *.sh) echo "postgres-entrypoint: running $f"; . "$f" ;;
            *.sql) echo "postgres-entrypoint: running $f"
                   psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d "$POSTGRES_DB" -f "$f" ;;
        esac
    done
    pg_ctl --pgdata="$PGDATA" -w -m fast stop >/dev/null
    echo "postgres-entrypoint: database cluster ready"
fi

if [ "${1:-}" = postgres ]; then
    shift
    exec postgres -D "$PGDATA" -c listen_addresses='*' "$@"
fi
exec "$@"
