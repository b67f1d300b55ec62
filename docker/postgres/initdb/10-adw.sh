# Sourced by the Postgres entrypoint on first start (socket-only server, superuser
# $POSTGRES_USER, who serves no service). One login role per use, none a superuser:
#   adw_source      owns the source database $POSTGRES_DB: the seed service creates the tables
#                   and grants adw_replicator SELECT on them (ensure_schema, lib/source/server.py)
#   adw_replicator  the code location's role: CONNECT to the source, read-only by default, no
#                   TEMP, no CREATE, at most ADW_REPLICATION_WORKERS x
#                   ADW_REPLICATION_RANGE_READERS + 3 connections
#   adw_dagster     owns Dagster's storage database $ADW_DAGSTER_DB, and nothing else
# Only these connect (PUBLIC loses CONNECT and TEMP on every database). Passwords come from
# compose secrets (load_secret, /usr/local/lib/adw/secrets.sh).
set -eu
load_secret SOURCE_PASSWORD
load_secret REPLICATOR_PASSWORD
load_secret DAGSTER_PASSWORD
# + REPLICATION_CONNECTION_MARGIN of adw_assets/lib/source/server.py (tests/containers checks it)
replicator_limit=$(( ${ADW_REPLICATION_WORKERS:-2} * ${ADW_REPLICATION_RANGE_READERS:-2} + 3 ))
psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d postgres \
    -v source_db="$POSTGRES_DB" \
    -v dagster_db="${ADW_DAGSTER_DB:-dagster}" \
    -v source_password="$SOURCE_PASSWORD" \
    -v replicator_password="$REPLICATOR_PASSWORD" \
    -v dagster_password="$DAGSTER_PASSWORD" \
    -v replicator_limit="$replicator_limit" <<'SQL'
create role adw_source login password :'source_password';
create role adw_replicator login password :'replicator_password'
    connection limit :replicator_limit;
alter role adw_replicator set default_transaction_read_only = on;
create role adw_dagster login password :'dagster_password';

alter database :"source_db" owner to adw_source;
revoke connect, temp on database :"source_db" from public;
grant connect on database :"source_db" to adw_replicator;

select format('create database %I owner adw_dagster', :'dagster_db')
where not exists (select from pg_database where datname = :'dagster_db')\gexec
revoke connect, temp on database :"dagster_db" from public;

revoke connect, temp on database postgres from public;
SQL
unset SOURCE_PASSWORD REPLICATOR_PASSWORD DAGSTER_PASSWORD
