#!/usr/bin/env bash
# Make the virtual environment VENV hold exactly the lock LOCK (requirements/*.txt: exact
# versions with hashes, written by `make lock`), creating VENV first if needed.
#
#   bash .ci/sync-env.sh VENV LOCK [--editable]     # --editable: then adw itself, in place
#
# Installs with uv (`uv pip sync`: what the lock lists, nothing else, hashes verified); uv is the
# one pinned in requirements/dev.txt, bootstrapped into .venv with pip (hash-checked) and used
# from there for the other environments (.venv-bq, .venv-bench). PYTHON (default python3)
# creates the venv.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$1 lock=$2 editable=${3:-}
PYTHON=${PYTHON:-python3}
export PIP_DISABLE_PIP_VERSION_CHECK=1 UV_NO_PROGRESS=1

test -x "$venv/bin/python" || "$PYTHON" -m venv "$venv"
uv=.venv/bin/uv
if ! "$uv" --version >/dev/null 2>&1; then
  test -x .venv/bin/python || "$PYTHON" -m venv .venv
  # the uv block of the dev lock (its version and hashes), installed by pip in hash mode
  sed -n '/^uv==/,/^    #/p' requirements/dev.txt | grep -v '^    #' >.venv/uv-requirement.txt
  .venv/bin/python -m pip install --quiet --no-deps --require-hashes -r .venv/uv-requirement.txt
  rm -f .venv/uv-requirement.txt
fi
# --compile-bytecode: uv writes no .pyc by default, and with PYTHONDONTWRITEBYTECODE (CI,
# containers) Python then compiles every module in every process: half of each `adw` and dbt
# command's start-up (docs/performance.md)
"$uv" pip sync --quiet --require-hashes --compile-bytecode --python "$venv/bin/python" "$lock"
if [ "$editable" = --editable ]; then
  # adw in place, with the setuptools of the lock (no build isolation: nothing unlocked)
  "$uv" pip install --quiet --no-deps --no-build-isolation --compile-bytecode \
    --python "$venv/bin/python" -e .
  # and adw's own modules, which stay in the checkout (a stale .pyc is recompiled in memory)
  "$venv/bin/python" -m compileall -q adw_assets >/dev/null
fi
