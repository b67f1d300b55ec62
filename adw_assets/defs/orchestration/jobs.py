"""Jobs, selected by lineage. Each job has one owner (see docs/orchestration.md).

A job says what it builds by lineage, never by a hand-kept list of groups: ``elt_job`` builds
everything the code location can build (all of it is downstream of the replicated tables and
the web events, or read by what is), ``web_events_job`` everything downstream of the web
events; a model in a new dbt folder is in the right jobs without anyone editing this file.
Runs are not tagged for serialization: every op that opens the warehouse declares the
concurrency pool ``warehouse`` (defs/warehouse/resources.py), which queues writers whoever
launched them.
"""

from __future__ import annotations

import dagster as dg

from adw_assets.defs.replication.sensors import CDC_JOB
from adw_assets.defs.source.assets import source_asset_key
from adw_assets.defs.web_events.assets import WEB_EVENTS_KEY
from adw_assets.defs.web_events.sensors import REFRESH_JOB
from adw_assets.lib.dagster_home import FULL_REFRESH_TAG
from adw_assets.lib.source.catalog import TABLES

# A step that fails for a transient reason (source restarting, a lock held a moment too long)
# is retried; a real failure still fails the run after the retries.
TRANSIENT_RETRY = dg.RetryPolicy(max_retries=2, delay=10, backoff=dg.Backoff.EXPONENTIAL)

_WEB_EVENTS_CHECKS = dg.AssetSelection.checks_for_assets(WEB_EVENTS_KEY)
FROM_THE_WEB_EVENTS = (
    dg.AssetSelection.assets(WEB_EVENTS_KEY).downstream(include_self=False).materializable()
    | _WEB_EVENTS_CHECKS
)
"""What is built from the web events, and the check of the events themselves (not what only
reads them, such as Omni's dashboards)."""
_SOURCE_TABLES = dg.AssetSelection.assets(*(source_asset_key(t.schema, t.name) for t in TABLES))
FROM_THE_REPLICATED_TABLES = (
    _SOURCE_TABLES.downstream(depth=1, include_self=False)  # the replicated tables
    .downstream(include_self=False)
    .materializable()
)
"""What is built from the replicated tables (whatever ADW_RAW_PREFIX names them), not the
tables themselves: `adw replicate --follow` writes those outside Dagster."""
EVERYTHING_BUILT = dg.AssetSelection.all() | _WEB_EVENTS_CHECKS
"""Every asset the code location materializes (not the external source tables and web
events): the replicated tables and all that is built from them and from the web events."""


def _job(name: str, selection: dg.AssetSelection, description: str, **tags: str):
    return dg.define_asset_job(
        name, selection=selection, description=description, tags=tags or None,
        op_retry_policy=TRANSIENT_RETRY,
    )  # fmt: skip


elt_job = _job(
    "elt_job",
    EVERYTHING_BUILT,
    "Replicate the AdventureWorks tables, then dbt build (tests as asset checks) and refresh "
    "the dashboard snapshot. Owner: Kestra flow adw_elt_hourly.",
)

web_events_job = _job(
    REFRESH_JOB,
    FROM_THE_WEB_EVENTS,
    "Everything built from the web events: the incremental web-event models, the web-traffic "
    "marts and the dashboard snapshot. Owners: Kestra flow adw_web_events_refresh, and the "
    "sensor web_events_landed_sensor while events stream.",
)

cdc_changes_job = _job(
    CDC_JOB,
    FROM_THE_REPLICATED_TABLES,
    "Everything built from the replicated tables (the incremental dbt models, the marts and "
    "the dashboard snapshot), after `adw replicate --follow` applied changes; each run selects "
    "what is downstream of the tables that changed. Owner: the sensor "
    "cdc_changes_applied_sensor (continuous CDC).",
)

full_refresh_job = _job(
    "full_refresh_job",
    EVERYTHING_BUILT,
    "Rebuild everything: replication full refresh (new generation) and dbt --full-refresh. "
    "Owner: Kestra flow adw_full_refresh_nightly.",
    **{FULL_REFRESH_TAG: "true"},
)

jobs = [elt_job, web_events_job, cdc_changes_job, full_refresh_job]
