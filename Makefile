# The two set-up commands of the README: `make up` and `make test`.
# Both create or update the virtual environment first; a second run skips the install.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.adw-installed

export DO_NOT_TRACK := 1
export DBT_SEND_ANONYMOUS_USAGE_STATS := false
export DAGSTER_DISABLE_TELEMETRY := 1

.PHONY: up test lint format install clean bigquery-env

up: $(STAMP)
	$(BIN)/adw up

test: $(STAMP) bigquery-env
	$(BIN)/pytest $(PYTEST_ARGS)

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

$(STAMP): pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "adw needs Python 3.11 or newer; run make with PYTHON=/path/to/python3.11")'
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@touch $(STAMP)

clean:
	rm -rf $(VENV) .adw dbt/target dbt/dbt_packages dbt/logs
