"""The web-events domain on BigQuery (``ADW_WAREHOUSE=bigquery``): ``web/events`` is the table
``<ADW_RAW_PREFIX>web.events`` that ``adw events stream`` fills by streaming inserts.

Freshness comes from the table's metadata (``tables.get``: last modification, streaming
buffer; free, no query): the sensor records a materialization of ``web/events`` when the
table changed since its last tick, which the freshness policy measures, and requests the run
of the web models. The dead-letter check counts the table's rows from the same metadata and
the dead letters in the local store.
"""

from datetime import datetime

import dagster as dg

from adw_assets.defs.replication.bigquery import RESOURCE_KEY, AdwBigQueryResource
from adw_assets.defs.web_events.assets import WEB_EVENTS_KEY, web_events_spec
from adw_assets.defs.web_events.checks import DEAD_LETTER_CHECK, dead_letter_result
from adw_assets.defs.web_events.sensors import REFRESH_SELECTION, refresh_request
from adw_assets.lib.events.bigquery_sink import TABLE, events_dataset
from adw_assets.lib.events.config import events_config
from adw_assets.lib.events.status import landing_status
from adw_assets.lib.warehouse import bigquery as bq


def web_events_bigquery_spec() -> dg.AssetSpec:
    dataset = events_dataset()
    return web_events_spec().replace_attributes(
        kinds={"bigquery"},
        description=(
            f"Web events streamed by `adw events stream` into BigQuery {dataset}.{TABLE} "
            "(insertAll, insertId = event_id; partitioned by event_date, clustered by "
            "event_id). Dead letters stay in $ADW_HOME/events/dead_letter."
        ),
        metadata={"table": f"{dataset}.{TABLE}"},
    )


def _stamp(value: datetime | None) -> float:
    return value.timestamp() if value else 0.0


@dg.sensor(
    name="web_events_landed_sensor",
    minimum_interval_seconds=30,
    target=REFRESH_SELECTION,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="When the BigQuery events table changed since the last tick (table metadata: "
    "last modified, streaming buffer): records a materialization of web/events (freshness) "
    "and requests a run of the web-event models.",
)
def web_events_bigquery_sensor(
    context: dg.SensorEvaluationContext, bigquery: AdwBigQueryResource
) -> dg.SensorResult:
    dataset = events_dataset()
    with bigquery.get_client() as client:
        facts = bq.table_facts(client, dataset, TABLE)
    if facts is None:
        return dg.SensorResult(skip_reason=f"no table {dataset}.{TABLE} yet")
    # streamed rows show in the buffer before the table's modification time moves
    newest = max(_stamp(facts.modified), _stamp(facts.oldest_streaming_entry))
    last = float(context.cursor) if context.cursor else 0.0
    if newest <= last:
        return dg.SensorResult(skip_reason=f"{dataset}.{TABLE} unchanged since the last tick")
    materialization = dg.AssetMaterialization(
        asset_key=WEB_EVENTS_KEY,
        description="new events streamed",
        metadata={
            "rows": facts.rows,
            "streaming_buffer_rows": facts.streaming_rows,
            "bytes": facts.bytes,
            "last_modified": dg.MetadataValue.timestamp(newest),
        },
    )
    return refresh_request(newest, materialization)


@dg.asset_check(
    asset=WEB_EVENTS_KEY,
    name=DEAD_LETTER_CHECK,
    description="Rejected events / all events received stays at or below "
    "ADW_EVENTS_MAX_DEAD_LETTER_RATIO (default 0.05). Accepted events: the BigQuery table's "
    "row count from its metadata; rejected: the local dead-letter store.",
)
def dead_letter_ratio_below_threshold_bigquery(
    bigquery: AdwBigQueryResource,
) -> dg.AssetCheckResult:
    cfg = events_config()
    dead = landing_status(cfg)
    with bigquery.get_client() as client:
        facts = bq.table_facts(client, events_dataset(), TABLE)
    accepted = (facts.rows + facts.streaming_rows) if facts else 0
    return dead_letter_result(accepted, dead, cfg.max_dead_letter_ratio)


def bigquery_web_events_defs() -> dg.Definitions:
    from adw_assets.defs.replication.bigquery import bigquery_resource

    return dg.Definitions(
        assets=[web_events_bigquery_spec()],
        asset_checks=[dead_letter_ratio_below_threshold_bigquery],
        sensors=[web_events_bigquery_sensor],
        resources={RESOURCE_KEY: bigquery_resource()},
    )
