"""The accepted web events as an external asset (``web/events``) that the dbt source resolves to.

``adw events stream`` (outside Dagster) writes them: Parquet micro-batches in the landing zone
with the DuckDB warehouse, streaming inserts into ``<ADW_RAW_PREFIX>web.events`` with BigQuery.
The new-batch sensor records a materialization each time new events arrived, which is what
the freshness policy measures.
"""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from adw_assets.lib.events.config import events_config
from adw_assets.settings import Settings, get_settings

WEB_EVENTS_KEY = dg.AssetKey(["web", "events"])
GROUP = "web_events"


def web_events_spec(settings: Settings | None = None) -> dg.AssetSpec:
    settings = settings or get_settings()
    cfg = events_config(settings)
    fail = timedelta(minutes=cfg.freshness_minutes)
    return dg.AssetSpec(
        key=WEB_EVENTS_KEY,
        group_name=GROUP,
        kinds={"bigquery" if settings.warehouse == "bigquery" else "parquet"},
        description=(
            "Web events accepted by `adw events stream`: with DuckDB, atomic Parquet "
            "micro-batches in $ADW_HOME/events/landing/event_date=YYYY-MM-DD/ read in place by "
            f"the dbt source web.events; with BigQuery, the table {settings.raw_prefix}web.events "
            "(streaming inserts, insertId = event_id). Dead letters stay in "
            "$ADW_HOME/events/dead_letter."
        ),
        # fails when no batch landed for ADW_EVENTS_FRESHNESS_MINUTES (the sensor reports a
        # materialization whenever new events arrived)
        freshness_policy=dg.FreshnessPolicy.time_window(
            fail_window=fail, warn_window=fail / 2 if fail >= timedelta(minutes=2) else None
        ),
    )
