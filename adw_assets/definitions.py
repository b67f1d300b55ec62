"""The adw code location: merges the domains under ``adw_assets/defs``.

Each domain package exposes ``defs`` built from its own assets/checks/jobs modules; this
file only merges them and applies project-wide rules.
"""

from __future__ import annotations

import dagster as dg

from adw_assets.defs import dashboard, dbt, orchestration, replication, source, web_events

defs = dg.Definitions.merge(
    source.defs,
    replication.defs,
    dbt.defs,
    web_events.defs,
    dashboard.defs,
    orchestration.defs,
)
