#!/usr/bin/env bash
# The BigQuery emulator's own environment (issue 7): .venv-bq, apart from the app's .venv so
# none of its pins leak into the app.
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
# Idempotent: a second run with an unchanged script only checks the environment.
#   bash .ci/bigquery-env.sh            # then: .venv/bin/pytest -m bigquery
# VENV_BQ (default .venv-bq) and PYTHON (default python3) override the defaults.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VENV_BQ="${VENV_BQ:-.venv-bq}"
BQEMULATOR_VERSION=1.4.0
DUCKDB_VERSION=1.5.5
STAMP="$VENV_BQ/.adw-bq-installed"
export DO_NOT_TRACK=1 DBT_SEND_ANONYMOUS_USAGE_STATS=false PIP_DISABLE_PIP_VERSION_CHECK=1

want="$(sha256sum "$0" | cut -c1-16)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ] && "$VENV_BQ/bin/python" -c 'import bqemulator' 2>/dev/null; then
  echo "== $VENV_BQ is up to date"
  exit 0
fi

echo "== create $VENV_BQ"
test -x "$VENV_BQ/bin/python" || "$PYTHON" -m venv "$VENV_BQ"
PIP=("$VENV_BQ/bin/python" -m pip install --quiet)
"${PIP[@]}" --upgrade pip
# dbt-bigquery 1.11 pins google-cloud-storage < 3.2: fine here, it is this venv's own.
"${PIP[@]}" "bqemulator==$BQEMULATOR_VERSION" "duckdb==$DUCKDB_VERSION" \
  "duckdb-extension-spatial==$DUCKDB_VERSION" testcontainers \
  "dbt-core>=1.11,<1.12" "dbt-bigquery>=1.11,<1.12"

echo "== install the spatial extension into DuckDB $DUCKDB_VERSION from the wheel's file"
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
