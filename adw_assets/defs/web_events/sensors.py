"""Refresh the web-event models whenever new events arrived (every 30 s while streaming)."""

import dagster as dg

from adw_assets.defs.warehouse.resources import WarehouseResource
from adw_assets.defs.web_events.assets import WEB_EVENTS_KEY
from adw_assets.lib.events.config import events_config
from adw_assets.lib.events.status import landing_status

REFRESH_JOB = "web_events_job"
"""Everything built from ``web/events`` (defs/orchestration/jobs.py)."""


@dg.sensor(
    name="web_events_landed_sensor",
    minimum_interval_seconds=30,
    job_name=REFRESH_JOB,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="When events arrived since the last tick (the newest landing partition's "
    "mtime, or the BigQuery table's last modification and streaming buffer): records a "
    "materialization of web/events (freshness) and runs web_events_job.",
)
def web_events_landed_sensor(
    context: dg.SensorEvaluationContext, warehouse: WarehouseResource
) -> dg.SensorResult:
    store = warehouse.web_events()
    newest = store.newest_change()
    last = float(context.cursor) if context.cursor else 0.0
    if newest is None or newest <= last:
        return dg.SensorResult(skip_reason="no new web events since the last tick")
    metadata = {k: v for k, v in store.metadata().items() if v is not None}
    if "newest_batch_at" in metadata:
        metadata["newest_batch_at"] = dg.MetadataValue.timestamp(metadata["newest_batch_at"])
    metadata["dead_letters"] = landing_status(events_config()).dead_letters
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=f"web-events-{newest!r}")],
        asset_events=[
            dg.AssetMaterialization(
                asset_key=WEB_EVENTS_KEY, description="new web events", metadata=metadata
            )
        ],
        cursor=repr(newest),  # exact: a rounded cursor could sit below newest
    )
