# Sourced by the Postgres entrypoint on first start (socket-only server, superuser
# $POSTGRES_USER). Creates Dagster's storage database and the read-only login role replication
# connects as; adw grants it SELECT on the source schemas when it creates them
# (adw_assets/lib/source/server.py: ensure_schema).
set -eu
psql -v ON_ERROR_STOP=1 -U "$POSTGRES_USER" -d postgres \
    -v dagster_db="${ADW_DAGSTER_DB:-dagster}" \
    -v replicator_password="${ADW_REPLICATOR_PASSWORD:?set ADW_REPLICATOR_PASSWORD}" <<'SQL'
select format('create database %I', :'dagster_db')
where not exists (select from pg_database where datname = :'dagster_db')\gexec
create role adw_replicator login password :'replicator_password';
SQL
