#!/usr/bin/env bash
# The BigQuery emulator's own environment (issue 7): .venv-bq, apart from the app's .venv so
# none of its pins leak into the app. It installs the lock requirements/bigquery-emulator.txt
# (group `bigquery-emulator` of pyproject.toml, `make lock`):
#
#   bqemulator 1.4.0            the BigQuery REST API on loopback, backed by DuckDB
#   duckdb==1.5.5               the DuckDB build bqemulator 1.4.0 works with
#   duckdb-extension-spatial    its spatial extension, installed into DuckDB from the file
#                               inside the wheel (no extension download at run time)
#   testcontainers              bqemulator's pytest plugin imports it
#   dbt-core 1.11 + dbt-bigquery 1.11   `dbt build --target emulator` (dbt/profiles.yml)
#
# tests/bigquery starts the emulator from here (tests/bigquery/emulator_main.py), on 127.0.0.1.
#
# Idempotent: a second run with an unchanged script and lock only checks the environment.
# The uv of .venv installs the lock (.ci/sync-env.sh bootstraps it when .venv lacks it).
#   bash .ci/bigquery-env.sh            # then: .venv/bin/pytest -m bigquery
# VENV_BQ (default .venv-bq) and PYTHON (default python3) override the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV_BQ="${VENV_BQ:-.venv-bq}"
LOCK=requirements/bigquery-emulator.txt
STAMP="$VENV_BQ/.adw-bq-installed"
export DO_NOT_TRACK=1 DBT_SEND_ANONYMOUS_USAGE_STATS=false PIP_DISABLE_PIP_VERSION_CHECK=1

want="$(cat "$0" "$LOCK" | sha256sum | cut -c1-16)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && "$VENV_BQ/bin/python" -c 'import bqemulator' 2>/dev/null; then
  echo "== $VENV_BQ is up to date"
  exit 0
fi

echo "== create $VENV_BQ from $LOCK"
# dbt-bigquery 1.11 pins google-cloud-storage < 3.2: fine here, it is this venv's own.
PYTHON="$PYTHON" bash .ci/sync-env.sh "$VENV_BQ" "$LOCK"

echo "== install the spatial extension into DuckDB from the wheel's file"
"$VENV_BQ/bin/python" - <<'PY'
import pathlib

import duckdb
import duckdb_extension_spatial

root = pathlib.Path(duckdb_extension_spatial.__file__).parent
ext = next(root.rglob("spatial.duckdb_extension"))
con = duckdb.connect()
con.execute(f"install '{ext}'")
con.execute("load spatial")
print(f"   spatial loaded from {ext}")
PY

echo "== check"
"$VENV_BQ/bin/python" -c 'import bqemulator, duckdb, dbt.adapters.bigquery; print("   bqemulator", bqemulator.__version__, "duckdb", duckdb.__version__)'
echo "$want" >"$STAMP"
echo "== $VENV_BQ ready"
