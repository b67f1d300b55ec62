"""The adw code location: one set of definitions in every environment.

Each domain under ``adw_assets/defs`` builds its definitions from the settings; only the
resources differ between environments (the warehouse: DuckDB or BigQuery; the replicator:
embedded or Airbyte), never the assets, checks, jobs, sensors or schedules. This file only
merges the domains.
"""

from __future__ import annotations

import dagster as dg

from adw_assets.defs import (
    dashboard,
    dbt,
    omni,
    orchestration,
    replication,
    source,
    warehouse,
    web_events,
)
from adw_assets.lib.private import private_umask
from adw_assets.settings import Settings, get_settings

DOMAINS = (warehouse, source, replication, dbt, web_events, dashboard, orchestration)


def build_definitions(settings: Settings | None = None) -> dg.Definitions:
    """The code location for these settings (default: the ``ADW_*`` environment)."""
    settings = settings or get_settings()
    return dg.Definitions.merge(*(domain.build_defs(settings) for domain in DOMAINS))


@dg.definitions
def defs() -> dg.Definitions:
    """What `dagster dev`, `dg` and the webserver load: built when they ask, not on import.
    Runs this code server launches inherit its umask: every file they write is private."""
    private_umask()
    settings = get_settings()
    # Omni's documents (docs/omni.md) only in a load by Dagster (code server, `dg`, run
    # workers), which keeps their state in its snapshot; adw's in-process runs never build them
    return dg.Definitions.merge(build_definitions(settings), omni.build_defs(settings))
