"""Jobs by asset selection. Each job has one owner (see docs/orchestration.md)."""

from __future__ import annotations

import dagster as dg

from adw_assets.lib.dagster_home import FULL_REFRESH_TAG, WAREHOUSE_TAG

ELT_GROUPS = ("replication", "staging", "intermediate", "marts", "web_events", "dashboard")
WEB_EVENTS_GROUPS = ("web_events", "dashboard")

# A step that fails for a transient reason (source restarting, a lock held a moment too long)
# is retried; a real failure still fails the run after the retries.
TRANSIENT_RETRY = dg.RetryPolicy(max_retries=2, delay=10, backoff=dg.Backoff.EXPONENTIAL)


def _warehouse_job(name: str, groups: tuple[str, ...], description: str, **tags: str):
    """A job over asset groups that writes the warehouse: queued behind any other writer
    (run tag adw/warehouse), transient step failures retried."""
    return dg.define_asset_job(
        name,
        selection=dg.AssetSelection.groups(*groups),
        description=description,
        tags={WAREHOUSE_TAG: "write", **tags},
        op_retry_policy=TRANSIENT_RETRY,
    )


elt_job = _warehouse_job(
    "elt_job",
    ELT_GROUPS,
    "Replicate the AdventureWorks tables, then dbt build (tests as asset checks) and refresh "
    "the dashboard snapshot. Owner: Kestra flow adw_elt_hourly.",
)

web_events_job = _warehouse_job(
    "web_events_job",
    WEB_EVENTS_GROUPS,
    "Incremental web-event models and web-traffic marts. "
    "Owner: Kestra flow adw_web_events_refresh.",
)

full_refresh_job = _warehouse_job(
    "full_refresh_job",
    ELT_GROUPS,
    "Rebuild everything: replication full refresh (new generation) and dbt --full-refresh. "
    "Owner: Kestra flow adw_full_refresh_nightly.",
    **{FULL_REFRESH_TAG: "true"},
)

jobs = [elt_job, web_events_job, full_refresh_job]
