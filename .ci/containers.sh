#!/usr/bin/env bash
# Containers stage of CI (issue 9): build the adw image, bring the compose stack up, launch
# elt_job through the webserver's GraphQL API from the host, check the marts, take the stack
# down, print the measurements. Runs apart from .ci/run (it needs a container runtime).
#
#   bash .ci/containers.sh                                # podman + podman-compose, as root
#   ADW_CONTAINER_ENGINE=docker bash .ci/containers.sh    # docker + docker compose (GitHub)
#
# With podman it installs podman, runc and debootstrap (apt), podman-compose 1.6.0 (PyPI, in
# .venv-containers) and makes the base image with debootstrap from the machine's apt mirror
# (no registry needed). Exits 0 with a "SKIP containers: <reason>" line where no container
# runtime can work; any other failure exits non-zero.
#
# Knobs: ADW_CI_COLD_BUILD=0 skips the no-cache build (quick re-runs); ADW_CI_SEED_SCALE (0.1);
# ADW_CI_SEED_DATA_DIR (a folder of real AdventureWorks CSVs to load instead of seeding);
# ADW_CI_PROJECT (adw-ci); ADW_CI_KEEP_IMAGES=0 removes the built images at the end.
set -euo pipefail
cd "$(dirname "$0")/.."

ENGINE="${ADW_CONTAINER_ENGINE:-podman}"
PROJECT="${ADW_CI_PROJECT:-adw-ci}"
IMAGE="${ADW_CI_IMAGE:-localhost/adw:ci}"
PG_IMAGE="${ADW_CI_POSTGRES_IMAGE:-localhost/adw-postgres:ci}"
LOCAL_BASE=localhost/bookworm:local
PODMAN_COMPOSE_VERSION=1.6.0
HEALTH_TIMEOUT="${ADW_CI_HEALTH_TIMEOUT:-600}"
export DO_NOT_TRACK=1 DBT_SEND_ANONYMOUS_USAGE_STATS=false DAGSTER_DISABLE_TELEMETRY=1
export PYTHONUNBUFFERED=1

WORK="$(mktemp -d /tmp/adw-containers.XXXXXX)"
STACK_UP=0
declare -A FIGURES=()

say() { printf '== %s\n' "$*"; }
skip() { echo "SKIP containers: $*"; rm -rf "$WORK"; exit 0; }
fail() { echo "FAIL containers: $*" >&2; exit 1; }
clock() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(clock)" 'BEGIN { printf "%.1f", b - a }'; }
figure() { FIGURES["$1"]="$2"; printf '   %s: %s\n' "$1" "$2"; }

# ---------------------------------------------------------------- runtime set-up
apt_mirror() {  # the Debian archive the machine's apt uses (deb822 or one-line sources)
    python3 - <<'PY'
import glob, re
for path in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
    for stanza in re.split(r"\n\s*\n", open(path).read()):
        fields = {}
        for line in stanza.splitlines():
            if ":" in line and not line.lstrip().startswith("#"):
                key, _, value = line.partition(":")
                fields[key.strip().lower()] = value.split()
        suites = fields.get("suites", [])
        if ("deb" in fields.get("types", []) and "main" in fields.get("components", [])
                and any("-" not in s and "/" not in s for s in suites)
                and fields.get("enabled", ["yes"]) != ["no"]):
            print(fields["uris"][0]); raise SystemExit
for path in ["/etc/apt/sources.list", *sorted(glob.glob("/etc/apt/sources.list.d/*.list"))]:
    try:
        lines = open(path).read().splitlines()
    except OSError:
        continue
    for line in lines:
        m = re.match(r"\s*deb\s+(?:\[[^]]*\]\s+)?(\S+)\s+([a-z]+)\s+.*\bmain\b", line)
        if m:
            print(m.group(1)); raise SystemExit
print("http://deb.debian.org/debian")
PY
}

make_local_base() {  # debootstrap bookworm (minbase, slimmed like debian:*-slim) -> podman
    if podman image exists "$LOCAL_BASE"; then
        say "base image $LOCAL_BASE exists; reusing it"
        return
    fi
    local mirror rootfs start
    mirror="$(apt_mirror)"
    rootfs="$WORK/rootfs"
    say "making $LOCAL_BASE: debootstrap --variant=minbase bookworm from $mirror"
    start="$(clock)"
    debootstrap --variant=minbase bookworm "$rootfs" "$mirror" >"$WORK/debootstrap.log" 2>&1 \
        || { tail -20 "$WORK/debootstrap.log" >&2; fail "debootstrap failed"; }
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/cache/apt/*.bin \
        "$rootfs"/var/lib/apt/lists/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* \
        "$rootfs"/usr/share/info/* "$rootfs"/usr/share/locale/*
    cat >"$rootfs/etc/dpkg/dpkg.cfg.d/slim" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
EOF
    tar -C "$rootfs" -c . | podman import -q - "$LOCAL_BASE" >/dev/null
    rm -rf "$rootfs"
    figure "base image made (debootstrap + import)" "$(since "$start") s"
}

setup_podman() {
    [ "$(id -u)" = 0 ] || skip "podman + runc run as root on this machine kind; run as root"
    if ! command -v podman >/dev/null || ! command -v runc >/dev/null \
            || ! command -v debootstrap >/dev/null; then
        command -v apt-get >/dev/null || skip "no podman/runc/debootstrap and no apt-get"
        say "installing podman, runc, debootstrap"
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
            install -y -qq podman runc debootstrap; } >"$WORK/apt.log" 2>&1 \
            || { tail -5 "$WORK/apt.log"; skip "apt-get could not install podman, runc, debootstrap"; }
    fi
    # runc, not crun (crun fails under the cgroup hybrid mode of this machine kind), and ulimits
    # the default ones of this kernel would not allow; only for this script's podman calls.
    cat >"$WORK/containers.conf" <<'EOF'
[containers]
default_ulimits = ["nofile=20000:20000", "nproc=4096:4096"]

[engine]
runtime = "runc"
EOF
    export CONTAINERS_CONF="$WORK/containers.conf"
    podman info >"$WORK/podman-info.log" 2>&1 \
        || skip "podman cannot run here: $(tail -1 "$WORK/podman-info.log")"
    if [ "$(.venv-containers/bin/podman-compose --version 2>/dev/null | head -1)" \
            != "podman-compose version $PODMAN_COMPOSE_VERSION" ]; then
        say "installing podman-compose $PODMAN_COMPOSE_VERSION in .venv-containers"
        python3 -m venv .venv-containers
        .venv-containers/bin/pip install -q "podman-compose==$PODMAN_COMPOSE_VERSION"
    fi
    COMPOSE=(.venv-containers/bin/podman-compose)
    BASE_IMAGE="${ADW_BASE_IMAGE:-$LOCAL_BASE}"
    [ "$BASE_IMAGE" = "$LOCAL_BASE" ] && make_local_base
    podman run --rm "$BASE_IMAGE" true >"$WORK/run.log" 2>&1 \
        || skip "podman cannot start a container here: $(tail -1 "$WORK/run.log")"
}

setup_docker() {
    command -v docker >/dev/null || skip "docker is not installed"
    docker info >/dev/null 2>&1 || skip "no docker daemon reachable"
    docker compose version >/dev/null 2>&1 || skip "the docker compose plugin is missing"
    COMPOSE=(docker compose)
    BASE_IMAGE="${ADW_BASE_IMAGE:-python:3.11-slim}"
}

build() {  # build LOG ARGS...: output to a log file, its tail on failure
    local log="$WORK/build-$1.log"
    shift
    "$ENGINE" build "$@" >"$log" 2>&1 || { tail -40 "$log" >&2; fail "image build failed"; }
}

# ---------------------------------------------------------------- stack helpers
compose() { "${COMPOSE[@]}" -p "$PROJECT" --env-file "$WORK/stack.env" "$@"; }

container_of() {
    "$ENGINE" ps -a -q --filter "label=com.docker.compose.project=$PROJECT" \
        --filter "label=com.docker.compose.service=$1" | head -1
}

is_healthy() {  # podman here has no systemd to schedule health checks: run them ourselves
    local cid
    cid="$(container_of "$1")"
    [ -n "$cid" ] || return 1
    if [ "$ENGINE" = podman ]; then
        podman healthcheck run "$cid" >/dev/null 2>&1
    else
        [ "$(docker inspect -f '{{.State.Health.Status}}' "$cid")" = healthy ]
    fi
}

seed_done() {  # 0 = exited 0; 1 = still running; exits the script if it failed
    local cid state code
    cid="$(container_of seed)"
    [ -n "$cid" ] || return 1
    state="$("$ENGINE" inspect -f '{{.State.Status}}' "$cid")"
    code="$("$ENGINE" inspect -f '{{.State.ExitCode}}' "$cid")"
    case "$state" in
        exited|stopped) [ "$code" = 0 ] || fail "the seed service exited $code" ;;
        *) return 1 ;;
    esac
}

wait_healthy() {
    local deadline=$((SECONDS + HEALTH_TIMEOUT)) svc ok
    while :; do
        ok=1
        seed_done || ok=0
        for svc in postgres code-location webserver daemon; do
            is_healthy "$svc" || { ok=0; break; }
        done
        [ "$ok" = 1 ] && return 0
        [ "$SECONDS" -lt "$deadline" ] || fail "stack not healthy after $HEALTH_TIMEOUT s"
        sleep 2
    done
}

leftovers() {  # what `down` must have removed: containers, volumes, networks of the project
    "$ENGINE" ps -a -q --filter "label=com.docker.compose.project=$PROJECT"
    "$ENGINE" volume ls -q | grep -E "^${PROJECT}_" || true
    "$ENGINE" network ls --format '{{.Name}}' | grep -E "^${PROJECT}_" || true
}

cleanup() {
    local rc=$?
    if [ "$STACK_UP" = 1 ]; then
        if [ "$rc" != 0 ]; then
            say "stack logs (last lines of each service)"
            for svc in postgres seed code-location webserver daemon; do
                cid="$(container_of "$svc")"
                [ -n "$cid" ] && { echo "--- $svc"; "$ENGINE" logs --tail 40 "$cid" 2>&1 || true; }
            done
        fi
        compose down -t 1 -v >/dev/null 2>&1 || true
    fi
    if [ "${ADW_CI_KEEP_IMAGES:-1}" = 0 ]; then
        "$ENGINE" rmi -f "$IMAGE" "$PG_IMAGE" >/dev/null 2>&1 || true
    fi
    # dangling layers of the images this script built (both carry this label)
    "$ENGINE" image prune -f --filter label=org.opencontainers.image.vendor=adw >/dev/null 2>&1 || true
    rm -rf "$WORK"
    exit "$rc"
}
trap cleanup EXIT

# ---------------------------------------------------------------- the stage
# (one function, so bash has read all of it before it starts: editing the file meanwhile is safe)
main() {
    case "$ENGINE" in
        podman) setup_podman ;;
        docker) setup_docker ;;
        *) fail "ADW_CONTAINER_ENGINE must be podman or docker, not '$ENGINE'" ;;
    esac
    [ -x .venv/bin/pytest ] || { say "installing the repo venv (make install)"; make install >/dev/null; }
    say "engine $ENGINE ($("$ENGINE" --version | head -1)), compose: ${COMPOSE[*]}, base $BASE_IMAGE"

    BUILD_ARGS=(--build-arg "BASE_IMAGE=$BASE_IMAGE")
    if [ -n "${PIP_CERT:-}" ] && [ -s "$PIP_CERT" ]; then  # CA bundle for pip: build secret only
        BUILD_ARGS+=(--secret "id=pipcert,src=$PIP_CERT")
    fi
    REVISION="$(git rev-parse HEAD 2>/dev/null || echo unknown)"

    if [ "${ADW_CI_COLD_BUILD:-1}" != 0 ]; then
        say "building $IMAGE cold (no layer of it cached; the base image is)"
        if [ "$ENGINE" = podman ]; then
            # podman 4.3 never reuses the layers of a --no-cache build, so the cached build
            # below would be cold too: remove every layer of the adw images instead.
            podman image prune -a -f --filter label=org.opencontainers.image.vendor=adw >/dev/null
            COLD=()
        else
            COLD=(--no-cache)
        fi
        start="$(clock)"
        build adw-cold "${COLD[@]}" "${BUILD_ARGS[@]}" \
            --build-arg "SOURCE_REVISION=$REVISION-cold" -t "$IMAGE" .
        figure "adw image build, cold" "$(since "$start") s"
    fi
    say "building $IMAGE again with a new revision (dependency layer cached, code layers rebuilt)"
    start="$(clock)"
    build adw "${BUILD_ARGS[@]}" --build-arg "SOURCE_REVISION=$REVISION" -t "$IMAGE" .
    figure "adw image build, dependency layer cached" "$(since "$start") s"

    say "building the Postgres image $PG_IMAGE"
    start="$(clock)"
    build postgres --build-arg "BASE_IMAGE=$BASE_IMAGE" -t "$PG_IMAGE" docker/postgres
    figure "postgres image build" "$(since "$start") s"
    size="$("$ENGINE" image inspect -f '{{.Size}}' "$IMAGE")"
    figure "adw image size" "$(awk -v s="$size" 'BEGIN { printf "%.0f MB", s / 1e6 }')"
    size="$("$ENGINE" image inspect -f '{{.Size}}' "$PG_IMAGE")"
    figure "postgres image size" "$(awk -v s="$size" 'BEGIN { printf "%.0f MB", s / 1e6 }')"

    [ -z "$(leftovers)" ] || fail "a previous $PROJECT stack is still there; run: ${COMPOSE[*]} -p $PROJECT down -v"
    PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    say "secrets: a placeholder stops a container; random ones for the stack"
    printf 'change-me\n' >"$WORK/placeholder"
    chmod 0644 "$WORK/placeholder"
    if "$ENGINE" run --rm -e DAGSTER_PG_PASSWORD_FILE=/run/secrets/x \
            -v "$WORK/placeholder:/run/secrets/x:ro" "$IMAGE" true >"$WORK/placeholder.log" 2>&1 \
            || ! grep -q "is a placeholder" "$WORK/placeholder.log"; then
        cat "$WORK/placeholder.log"; fail "the adw image started with a placeholder secret"
    fi
    sh docker/make-secrets.sh "$WORK/secrets" >/dev/null
    cat >"$WORK/stack.env" <<EOF
ADW_SECRETS_DIR=$WORK/secrets
ADW_BASE_IMAGE=$BASE_IMAGE
ADW_IMAGE=$IMAGE
ADW_POSTGRES_IMAGE=$PG_IMAGE
ADW_DAGSTER_PORT=$PORT
ADW_SEED_SCALE=${ADW_CI_SEED_SCALE:-0.1}
ADW_SEED_DATA_DIR=${ADW_CI_SEED_DATA_DIR:-./docker/seed-data}
EOF

    say "compose up ($PROJECT, webserver on 127.0.0.1:$PORT)"
    start="$(clock)"
    STACK_UP=1
    compose up -d --no-build >"$WORK/up.log" 2>&1 || { cat "$WORK/up.log"; fail "compose up failed"; }
    wait_healthy
    figure "stack start to healthy" "$(since "$start") s"

    say "smoke test: tests/containers (GraphQL from the host, elt_job, marts, Dagster storage)"
    CONTAINERS_SMOKE_URL="http://127.0.0.1:$PORT/graphql" \
    CONTAINERS_SMOKE_ENGINE="$ENGINE" \
    CONTAINERS_SMOKE_PROJECT="$PROJECT" \
    CONTAINERS_SMOKE_RESULTS="$WORK/results.json" \
        .venv/bin/pytest tests/containers -m containers -q -p no:cacheprovider --timeout 1800
    elt="$(python3 -c "import json; print(json.load(open('$WORK/results.json'))['elt_job_seconds'])")"
    figure "elt_job run time in the stack" "$elt s"

    say "compose down"
    start="$(clock)"
    compose down -t 1 -v >"$WORK/down.log" 2>&1 || { cat "$WORK/down.log"; fail "compose down failed"; }
    STACK_UP=0
    left="$(leftovers)"
    [ -z "$left" ] || fail "compose down left these behind: $left"
    figure "stack down (containers, networks, volumes removed)" "$(since "$start") s"

    say "measurements"
    for key in "adw image size" "postgres image size" "adw image build, cold" \
            "adw image build, dependency layer cached" "postgres image build" \
            "base image made (debootstrap + import)" "stack start to healthy" \
            "elt_job run time in the stack" "stack down (containers, networks, volumes removed)"; do
        if [ -n "${FIGURES[$key]:-}" ]; then printf '  %-52s %s\n' "$key" "${FIGURES[$key]}"; fi
    done
    echo "PASS containers"
}

main "$@"
