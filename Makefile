# The two set-up commands of the README: `make up` and `make test`.
# Both create or update the virtual environment first, from the lock requirements/dev.txt
# (exact versions and hashes); a second run skips the install. `make lock` refreshes the locks
# from pyproject.toml (.ci/lock.py says how); `make wheel` builds dist/adw-*.whl.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.adw-installed

export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DAGSTER_DISABLE_TELEMETRY := 1

.PHONY: up test test-slow test-all lint format install lock lock-check wheel clean bigquery-env

up: $(STAMP)
	$(BIN)/adw up

# One pytest worker per core (pytest-xdist); a test file stays on one worker, so its module
# fixtures (a seeded source, a replicated warehouse) are built once. PYTEST_WORKERS=0: serial.
# Two tiers of one suite: `make test` runs every test not marked slow (the journeys through
# adw, dg and dbt on both warehouses included: minutes); `make test-slow` runs the tests marked
# slow (kill -9 trials, whole pipelines on the real data, the live Dagster webserver: the rest
# of CI's time); `make test-all` runs both in one session. CI (.ci/run) runs the two tiers.
PYTEST_WORKERS ?= auto
PYTEST := $(BIN)/pytest --numprocesses $(PYTEST_WORKERS) --dist loadfile
test: $(STAMP) bigquery-env
	$(PYTEST) -m "not slow" $(PYTEST_ARGS)

test-slow: $(STAMP) bigquery-env
	$(PYTEST) -m slow $(PYTEST_ARGS)

test-all: $(STAMP) bigquery-env
	$(PYTEST) $(PYTEST_ARGS)

# The BigQuery API emulator lives in its own .venv-bq (its pins stay out of .venv); where it
# cannot install, the tests marked bigquery skip with a reason.
bigquery-env:
	@PYTHON=$(PYTHON) bash .ci/bigquery-env.sh || echo "BigQuery emulator environment unavailable: the bigquery tests will skip"

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

format: $(STAMP)
	$(BIN)/ruff check --fix .
	$(BIN)/ruff format .

install: $(STAMP)

$(STAMP): pyproject.toml setup.py requirements/dev.txt
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "adw needs Python 3.11 or newer; run make with PYTHON=/path/to/python3.11")'
	PYTHON=$(PYTHON) bash .ci/sync-env.sh $(VENV) requirements/dev.txt --editable
	@touch $(STAMP)

# Write requirements/*.txt from pyproject.toml (deterministic: .ci/lock.py); commit them.
lock: $(STAMP)
	$(BIN)/python .ci/lock.py

# Fail when pyproject.toml and the locks disagree (CI).
lock-check: $(STAMP)
	$(BIN)/python .ci/lock.py --check

# The installable wheel (the dbt project and the dashboard inside): pip install dist/adw-*.whl
wheel: $(STAMP)
	rm -rf build dist/adw-*.whl
	$(BIN)/python -m pip wheel --quiet --no-deps --no-build-isolation --wheel-dir dist .

clean:
	rm -rf $(VENV) .adw dbt/target dbt/dbt_packages dbt/logs build dist
