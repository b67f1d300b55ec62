"""``DAGSTER_HOME`` under ``ADW_HOME``, with the instance settings adw relies on."""

from __future__ import annotations

import os
from pathlib import Path

from adw_assets.settings import Settings

WAREHOUSE_TAG = "adw/warehouse"
"""Runs that write the warehouse carry this tag; the run queue lets one of them run at a time
(DuckDB has one writer process), the others wait in the queue instead of failing."""

FULL_REFRESH_TAG = "adw/full_refresh"
"""Runs tagged ``adw/full_refresh=true`` rebuild: replication bumps the generation of every
selected stream and dbt runs with ``--full-refresh`` (full_refresh_job sets it)."""

DAGSTER_YAML = f"""\
# Written by adw (adw_assets/lib/dagster_home.py); edit freely, adw does not overwrite it.
concurrency:
  runs:
    max_concurrent_runs: 4
    tag_concurrency_limits:
      - key: "{WAREHOUSE_TAG}"
        limit: 1
  pools:
    # ops in the same pool never run at the same moment, across runs
    default_limit: 1
run_monitoring:
  enabled: true
# evaluate the freshness policies of the replicated tables and web events
freshness:
  enabled: true
telemetry:
  enabled: false
"""


def ensure_dagster_home(settings: Settings) -> Path:
    """Create ``$ADW_HOME/dagster/dagster.yaml`` if absent and export ``DAGSTER_HOME``."""
    home = settings.dagster_home
    home.mkdir(parents=True, exist_ok=True)
    config = home / "dagster.yaml"
    if not config.exists():
        tmp = config.with_suffix(".tmp")
        tmp.write_text(DAGSTER_YAML)
        tmp.replace(config)
    os.environ["DAGSTER_HOME"] = str(home)
    return home
