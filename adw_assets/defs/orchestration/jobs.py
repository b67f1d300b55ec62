"""Jobs by asset selection. Each job has one owner (see docs/orchestration.md)."""

from __future__ import annotations

import dagster as dg

from adw_assets.lib.dagster_home import WAREHOUSE_TAG

FULL_REFRESH_TAG = "adw/full_refresh"
"""Runs tagged ``adw/full_refresh=true`` rebuild: replication bumps the generation of every
stream and dbt runs with ``--full-refresh``."""

# elt_job is `dbt build` of the whole project: the web models too, since dbt tests that join
# them to the core marts (fct_web_events -> dim_customers) run whenever either side is built.
ELT_GROUPS = ("replication", "staging", "intermediate", "marts", "web_events", "dashboard")
WEB_EVENTS_GROUPS = ("web_events", "dashboard")

# A step that fails for a transient reason (source restarting, a lock held a moment too long)
# is retried; a real failure still fails the run after the retries.
TRANSIENT_RETRY = dg.RetryPolicy(max_retries=2, delay=10, backoff=dg.Backoff.EXPONENTIAL)

elt_job = dg.define_asset_job(
    "elt_job",
    selection=dg.AssetSelection.groups(*ELT_GROUPS),
    description="Replicate the AdventureWorks tables, then dbt build (tests as asset checks) "
    "and refresh the dashboard snapshot. Owner: Kestra flow adw_elt_hourly.",
    tags={WAREHOUSE_TAG: "write"},
    op_retry_policy=TRANSIENT_RETRY,
)

web_events_job = dg.define_asset_job(
    "web_events_job",
    selection=dg.AssetSelection.groups(*WEB_EVENTS_GROUPS),
    description="Incremental web-event models and web-traffic marts. "
    "Owner: Kestra flow adw_web_events_refresh.",
    tags={WAREHOUSE_TAG: "write"},
    op_retry_policy=TRANSIENT_RETRY,
)

web_events_live_job = dg.define_asset_job(
    "web_events_live_job",
    selection=dg.AssetSelection.groups(*WEB_EVENTS_GROUPS),
    description="The same selection as web_events_job, run by Dagster's new-batch sensor while "
    "events stream. Owner: Dagster (sensor).",
    tags={WAREHOUSE_TAG: "write"},
    op_retry_policy=TRANSIENT_RETRY,
)

full_refresh_job = dg.define_asset_job(
    "full_refresh_job",
    selection=dg.AssetSelection.groups(*ELT_GROUPS),
    description="Rebuild everything: replication full refresh (new generation) and dbt "
    "--full-refresh. Owner: Kestra flow adw_full_refresh_nightly.",
    tags={WAREHOUSE_TAG: "write", FULL_REFRESH_TAG: "true"},
    op_retry_policy=TRANSIENT_RETRY,
)

jobs = [elt_job, web_events_job, web_events_live_job, full_refresh_job]
