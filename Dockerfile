# The adw image: the Dagster code location (gRPC server with the adw package, the dbt project and
# its prepared manifest). The same image runs the Dagster webserver, the daemon and one-shot adw
# commands (seed, replicate, build): see docker/entrypoint.sh and docs/containers.md.
#
#   docker build -t adw .
#   podman build --build-arg BASE_IMAGE=localhost/bookworm:local \
#       --secret id=pipcert,src=/etc/ssl/certs/ca-certificates.crt -t adw .
#
# BASE_IMAGE: any Debian-based image. An official Python slim image already has Python; on a
# bare Debian (bookworm or later) Python comes from Debian's python3 and python3-venv packages.
ARG BASE_IMAGE=python:3.11-slim
FROM ${BASE_IMAGE} AS base
LABEL org.opencontainers.image.vendor="adw"

ENV LANG=C.UTF-8 \
    PYTHONUNBUFFERED=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    DO_NOT_TRACK=1 \
    DBT_SEND_ANONYMOUS_USAGE_STATS=false \
    DAGSTER_DISABLE_TELEMETRY=1

# Python 3.11+ (with venv) when the base lacks it; the non-root user and its writable paths.
RUN set -eux; \
    if ! python3 -c 'import sys, venv, ensurepip; sys.exit(sys.version_info < (3, 11))' \
            2>/dev/null; then \
        apt-get update; \
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
            python3 python3-venv ca-certificates; \
        rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin /var/log/apt /var/log/dpkg.log; \
    fi; \
    groupadd --gid 10001 adw; \
    useradd --uid 10001 --gid adw --home-dir /var/lib/adw --no-create-home --shell /usr/sbin/nologin adw; \
    mkdir -p /var/lib/adw /opt/dagster/home/storage; \
    chown adw:adw /var/lib/adw /opt/dagster/home /opt/dagster/home/storage; \
    chmod 0700 /var/lib/adw /opt/dagster/home/storage

FROM base
# Dependency layer: the lock of the app (requirements/app.txt, or app-<extras>.txt for the
# optional-dependency groups named in EXTRAS, e.g. "bigquery"; `make lock` writes them), exact
# versions with hashes; so neither code changes nor other pyproject.toml edits rebuild it. A CA
# bundle for pip (networks that intercept TLS) comes as the build secret `pipcert`, mounted in
# this RUN only and never stored in a layer.
ARG EXTRAS=""
COPY requirements/app*.txt /tmp/requirements/
RUN --mount=type=secret,id=pipcert \
    set -eu; \
    if [ -s /run/secrets/pipcert ]; then export PIP_CERT=/run/secrets/pipcert; fi; \
    lock="/tmp/requirements/$(echo app $EXTRAS | tr ' ' '-').txt"; \
    if [ ! -f "$lock" ]; then \
        echo "no lock for EXTRAS='$EXTRAS' ($(basename "$lock")): add it to .ci/lock.py, run make lock" >&2; \
        exit 1; \
    fi; \
    python3 -m venv /opt/venv; \
    /opt/venv/bin/pip install --quiet --no-deps --require-hashes -r "$lock"; \
    rm -rf /tmp/requirements; \
    # test suites shipped inside wheels (never imported at run time): ~60 MB
    site="$(/opt/venv/bin/python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"; \
    rm -rf "$site/pandas/tests" "$site/pyarrow/tests" "$site"/numpy/*/tests "$site"/numpy/tests

# The commit the image is built from (CI passes it); changing it rebuilds only the code layers.
ARG SOURCE_REVISION=unknown
LABEL org.opencontainers.image.title="adw" \
      org.opencontainers.image.description="AdventureWorks analytics: Dagster code location, webserver and daemon" \
      org.opencontainers.image.licenses="MIT" \
      org.opencontainers.image.revision="${SOURCE_REVISION}"

ENV PATH=/usr/local/lib/adw/bin:/opt/venv/bin:$PATH \
    ADW_HOME=/var/lib/adw \
    ADW_DUCKDB_PATH=/var/lib/adw/warehouse.duckdb \
    DAGSTER_HOME=/opt/dagster/home

# Code layer. The package is installed in place (editable, no dependencies, no network, with the
# locked setuptools) so the dbt project beside it stays where the package expects it. Code is
# root-owned (read-only to the service user); dbt writes its target/ and logs/, so dbt/ belongs
# to the service user.
WORKDIR /app
COPY pyproject.toml setup.py README.md workspace.yaml ./
COPY adw_assets ./adw_assets
COPY dashboard ./dashboard
COPY --chown=adw:adw dbt ./dbt
COPY docker/dagster.yaml /opt/dagster/home/dagster.yaml
COPY docker/workspace.yaml /opt/dagster/workspace.yaml
COPY docker/entrypoint.sh /usr/local/bin/adw-entrypoint
COPY docker/postgres/secrets.sh /usr/local/lib/adw/secrets.sh
# `adw` on PATH runs through the entrypoint, which reads the secret files into the environment
RUN set -eu; \
    pip install --quiet --no-deps --no-build-isolation -e .; \
    chmod 0755 /usr/local/bin/adw-entrypoint; \
    chmod 0644 /usr/local/lib/adw/secrets.sh; \
    mkdir -p /usr/local/lib/adw/bin; \
    printf '#!/bin/sh\nexec adw-entrypoint /opt/venv/bin/adw "$@"\n' > /usr/local/lib/adw/bin/adw; \
    chmod 0755 /usr/local/lib/adw/bin/adw

USER adw
# The prepared dbt manifest (dbt/target/manifest.json, with the fingerprint adw checks on import)
# the code location loads its assets from; only a different dbt target re-parses at run time.
RUN python3 -c 'from adw_assets.lib.dbt import ensure_manifest; print(ensure_manifest())' \
    && rm -rf dbt/logs

EXPOSE 4000 3000
ENTRYPOINT ["adw-entrypoint"]
CMD ["code-location"]
