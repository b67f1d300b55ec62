"""The landing zone as an external asset (``web/events``) that the dbt source resolves to.

``adw events stream`` (outside Dagster) writes it; the sensor records a materialization each
time new batches landed, which is what the freshness policy measures.
"""

from __future__ import annotations

from datetime import timedelta

import dagster as dg

from adw_assets.lib.events.config import events_config

WEB_EVENTS_KEY = dg.AssetKey(["web", "events"])


def web_events_spec() -> dg.AssetSpec:
    cfg = events_config()
    fail = timedelta(minutes=cfg.freshness_minutes)
    return dg.AssetSpec(
        key=WEB_EVENTS_KEY,
        group_name="web_events",
        kinds={"parquet"},
        description=(
            "Web events landed by `adw events stream` as atomic Parquet micro-batches in "
            "$ADW_HOME/events/landing/event_date=YYYY-MM-DD/ (dead letters beside them). Read "
            "in place by the dbt source web.events; the streamer never opens the warehouse."
        ),
        metadata={"landing_dir": dg.MetadataValue.path(str(cfg.landing_dir))},
        # fails when no batch landed for ADW_EVENTS_FRESHNESS_MINUTES (the sensor reports a
        # materialization whenever new batches land)
        freshness_policy=dg.FreshnessPolicy.time_window(
            fail_window=fail, warn_window=fail / 2 if fail >= timedelta(minutes=2) else None
        ),
    )
