#!/bin/sh
# Entrypoint of the adw image: one role per compose service, or any command.
#
#   code-location   Dagster gRPC code server for adw_assets.definitions (location `adw`)
#   webserver       Dagster webserver + GraphQL API on $DAGSTER_WEBSERVER_PORT (3000)
#   daemon          Dagster daemon (run queue, schedules, sensors)
#   seed            one-shot: the AdventureWorks source
#                   (`adw source load /data` when CSVs are mounted there, else
#                   `adw source seed --scale $ADW_SEED_SCALE`); a seeded source is left as is
#   healthcheck R   exit 0 when the service of role R is healthy
#   anything else   run as a command, e.g. `adw replicate`, `adw build`, `dagster ...`
#
# The Dagster roles first wait for Postgres and create or upgrade Dagster's storage
# schema (one at a time), so a new image needs no manual `dagster instance migrate`.
#
# Secrets come as files (compose secrets): DAGSTER_PG_PASSWORD_FILE, PGPASSWORD_FILE (libpq's
# password for the DSNs, which hold none) and ADW_CARD_HASH_SALT_FILE are read into
# DAGSTER_PG_PASSWORD, PGPASSWORD and ADW_CARD_HASH_SALT before any role or command runs; a
# placeholder stops the container (secrets.sh). The image's `adw` on PATH runs through this
# entrypoint, so `docker compose exec code-location adw ...` has them too.
set -eu
umask 077  # files the services write (warehouse, events, compute logs) are owner-only
. /usr/local/lib/adw/secrets.sh
# (health checks too: the daemon's liveness check reads Dagster's storage)
for secret in DAGSTER_PG_PASSWORD PGPASSWORD ADW_CARD_HASH_SALT; do
    load_secret "$secret" optional
done

GRPC_PORT="${DAGSTER_GRPC_PORT:-4000}"
WEB_PORT="${DAGSTER_WEBSERVER_PORT:-3000}"
WORKSPACE=/opt/dagster/workspace.yaml

log() { echo "adw-entrypoint: $*" >&2; }

# Python prelude of the snippets below: connect(which, **options) to `source`
# (ADW_SOURCE_DSN) or `dagster` (DAGSTER_PG_*), retried for 180 s, then exit non-zero (the
# restart policy tries again). Services may start before Postgres is ready (podman < 4.6
# ignores `condition: service_healthy`), and a container network's DNS can fail for a moment
# even after Postgres answered once (seen with podman's aardvark-dns).
PG_CONNECT='
import os, sys, time
import psycopg


def connect(which, **options):
    env = os.environ
    if which == "source":
        kwargs = {"conninfo": env["ADW_SOURCE_DSN"]}
    else:
        kwargs = {
            "host": env["DAGSTER_PG_HOST"], "port": env.get("DAGSTER_PG_PORT", "5432"),
            "user": env["DAGSTER_PG_USER"], "password": env["DAGSTER_PG_PASSWORD"],
            "dbname": env["DAGSTER_PG_DB"],
        }
    timeout = 180.0
    deadline = time.monotonic() + timeout
    while True:
        try:
            return psycopg.connect(connect_timeout=5, **kwargs, **options)
        except psycopg.OperationalError as exc:
            if time.monotonic() > deadline:
                sys.exit(f"{which} PostgreSQL not reachable after {timeout:.0f} s: {exc}".strip())
            time.sleep(1)
'

# Run the Python on stdin after PG_CONNECT, with the given arguments.
pg_python() {
    { printf '%s\n' "$PG_CONNECT"; cat; } | python3 - "$@"
}

# Wait until PostgreSQL (`source` or `dagster`) accepts connections.
wait_for_postgres() {
    pg_python "$1" <<'PY'
connect(sys.argv[1]).close()
PY
}

# Create or upgrade Dagster's storage schema (`dagster instance migrate`) under a Postgres
# advisory lock. Every Dagster service does it before it starts: the first one creates the
# schema, a new image migrates it, and two processes never create the same tables at once.
migrate_dagster_storage() {
    pg_python <<'PY'
import subprocess

LOCK = 0x616477  # "adw"
with connect("dagster", autocommit=True) as conn:
    conn.execute("select pg_advisory_lock(%s)", (LOCK,))
    done = subprocess.run(["dagster", "instance", "migrate"], capture_output=True, text=True)
    conn.execute("select pg_advisory_unlock(%s)", (LOCK,))
if done.returncode != 0:
    sys.exit(f"dagster instance migrate failed:\n{done.stdout}{done.stderr}")
PY
}

# Number of orders in the source, 0 when the tables are absent or empty.
source_orders() {
    pg_python <<'PY'
with connect("source") as conn:
    exists = conn.execute("select to_regclass('sales.salesorderheader')").fetchone()[0]
    n = conn.execute("select count(*) from sales.salesorderheader").fetchone()[0] if exists else 0
print(n)
PY
}

seed() {
    : "${ADW_SOURCE_DSN:?ADW_SOURCE_DSN must name the source database}"
    wait_for_postgres source
    # tables and the read-only replication role with its grants, when absent (idempotent)
    python3 -c 'import os; from adw_assets.lib.source.server import ensure_schema; ensure_schema(os.environ["ADW_SOURCE_DSN"])'
    orders="$(source_orders)"
    if [ "$orders" -gt 0 ]; then
        log "the source already holds $orders orders; not seeding (drop the pgdata volume to reseed)"
    elif ls /data/*.csv >/dev/null 2>&1; then
        log "loading the AdventureWorks CSVs mounted at /data"
        adw source load /data
    else
        log "seeding synthetic AdventureWorks at scale ${ADW_SEED_SCALE:-0.1}"
        adw source seed --scale "${ADW_SEED_SCALE:-0.1}" --seed "${ADW_SEED:-42}"
    fi
    log "source ready"
}

healthcheck() {
    case "${1:-}" in
        code-location)  # what `dagster api grpc-health-check` asks, without importing dagster
            exec python3 - "$GRPC_PORT" <<'PY'
import sys
import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

with grpc.insecure_channel(f"127.0.0.1:{sys.argv[1]}") as channel:
    request = health_pb2.HealthCheckRequest(service="DagsterApi")
    try:
        reply = health_pb2_grpc.HealthStub(channel).Check(request, timeout=8)
    except grpc.RpcError as exc:
        sys.exit(f"code server not serving: {exc.code().name}")
sys.exit(reply.status != health_pb2.HealthCheckResponse.SERVING)
PY
            ;;
        webserver)
            exec python3 -c "import urllib.request as u; u.urlopen('http://127.0.0.1:$WEB_PORT/server_info', timeout=5)"
            ;;
        daemon) exec dagster-daemon liveness-check >/dev/null ;;
        *) log "healthcheck: unknown role '${1:-}'"; exit 2 ;;
    esac
}

case "${1:-code-location}" in
    code-location)
        wait_for_postgres dagster
        migrate_dagster_storage
        exec dagster code-server start --host 0.0.0.0 --port "$GRPC_PORT" \
            --module-name adw_assets.definitions --location-name adw
        ;;
    webserver)
        wait_for_postgres dagster
        migrate_dagster_storage
        exec dagster-webserver --host 0.0.0.0 --port "$WEB_PORT" --workspace "$WORKSPACE"
        ;;
    daemon)
        wait_for_postgres dagster
        migrate_dagster_storage
        exec dagster-daemon run --workspace "$WORKSPACE"
        ;;
    seed) seed ;;
    healthcheck) shift; healthcheck "$@" ;;
    *) exec "$@" ;;
esac
