"""Refresh the web-event models whenever new micro-batches land (every 30 s while streaming)."""

from __future__ import annotations

import dagster as dg

from adw_assets.defs.web_events.assets import WEB_EVENTS_KEY
from adw_assets.defs.web_events.checks import DEAD_LETTER_CHECK
from adw_assets.lib.dagster_home import WAREHOUSE_TAG
from adw_assets.lib.events.config import events_config
from adw_assets.lib.events.status import landing_status, newest_batch_mtime

# Everything built from the landing zone (the dbt web models and what reads them), plus the
# dead-letter check. By lineage, not by group: whatever group the dbt models are shown in.
REFRESH_SELECTION = dg.AssetSelection.assets(WEB_EVENTS_KEY).downstream(
    include_self=False
) | dg.AssetSelection.checks(dg.AssetCheckKey(WEB_EVENTS_KEY, DEAD_LETTER_CHECK))


@dg.sensor(
    name="web_events_landed_sensor",
    minimum_interval_seconds=30,
    target=REFRESH_SELECTION,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="When a batch landed since the last tick (newest landing partition mtime "
    "past the cursor): records a materialization of web/events (freshness) and requests a "
    "run of the web-event models.",
)
def web_events_landed_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    cfg = events_config()
    newest = newest_batch_mtime(cfg)
    last = float(context.cursor) if context.cursor else 0.0
    if newest is None or newest <= last:
        return dg.SensorResult(skip_reason="no new batch in the landing zone")
    status = landing_status(cfg)
    materialization = dg.AssetMaterialization(
        asset_key=WEB_EVENTS_KEY,
        description="new micro-batches landed",
        metadata={
            "events": status.events,
            "files": status.files,
            "event_dates": len(status.partitions),
            "dead_letters": status.dead_letters,
            "newest_batch_at": dg.MetadataValue.timestamp(newest),
        },
    )
    return refresh_request(newest, materialization)


def refresh_request(newest: float, materialization: dg.AssetMaterialization) -> dg.SensorResult:
    """Record ``materialization`` and request the refresh run, keyed and cursored by the
    newest change seen (``newest``, any warehouse)."""
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(run_key=f"web-events-{newest!r}", tags={WAREHOUSE_TAG: "write"})
        ],
        asset_events=[materialization],
        cursor=repr(newest),  # exact: a rounded cursor could sit below newest
    )
