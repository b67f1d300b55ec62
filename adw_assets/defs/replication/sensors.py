"""Build on what ``adw replicate --follow`` applied: the continuous CDC mode's sensor.

The follower runs outside Dagster (a run that never ends would hold the ``warehouse`` pool's
slot and block every build) and writes its progress to ``$ADW_HOME/replication/
cdc_follow.json`` after every acknowledged micro-batch (``lib/replication/cdc_progress.py``).
This sensor reads that file, never the warehouse (whose one writer lock the follower and dbt
take turns on), and when streams changed since its cursor (an LSN) records a materialization
of each of those replicated tables and requests ``cdc_changes_job`` for what is built from
them: the incremental dbt models and marts downstream, and the dashboard snapshot.
"""

from __future__ import annotations

import dagster as dg

from adw_assets.defs.replication.resources import replicated_key
from adw_assets.lib.replication import cdc_progress
from adw_assets.settings import get_settings

CDC_JOB = "cdc_changes_job"
"""Everything built from the replicated tables (defs/orchestration/jobs.py)."""
IN_FLIGHT = (
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
)
MAX_IN_FLIGHT = 2
"""One run building and one waiting for the warehouse pool; beyond that a tick waits (its
cursor stays, so the next run takes every change since), instead of queueing a run per tick
while the builds are slower than the changes."""


@dg.sensor(
    name="cdc_changes_applied_sensor",
    minimum_interval_seconds=10,
    job_name=CDC_JOB,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Continuous CDC (ADW_REPLICATION_METHOD=cdc with `adw replicate --follow` "
    "running): when the follower applied changes since the last tick (its progress file "
    "$ADW_HOME/replication/cdc_follow.json; the warehouse is never opened), records a "
    "materialization of each replicated table that changed and runs cdc_changes_job for what "
    "is downstream of them (incremental dbt models, marts, dashboard snapshot). Skips, saying "
    "why, in cursor mode or when no follower has run.",
)
def cdc_changes_applied_sensor(context: dg.SensorEvaluationContext) -> dg.SensorResult:
    settings = get_settings()
    if settings.replication_method != "cdc":
        return dg.SensorResult(
            skip_reason="ADW_REPLICATION_METHOD is cursor: the scheduled elt_job replicates and "
            "builds; this sensor follows `adw replicate --follow` in CDC mode"
        )
    path = cdc_progress.progress_path(settings.home)
    try:
        progress = cdc_progress.read(path)
    except ValueError as exc:
        return dg.SensorResult(skip_reason=str(exc))
    if progress is None:
        return dg.SensorResult(
            skip_reason=f"no {path}: `adw replicate --follow` has not run with this ADW_HOME"
        )
    last = int(context.cursor) if context.cursor else None
    changed = progress.changed_since(last)
    if not changed:
        return dg.SensorResult(
            skip_reason=f"nothing applied by `adw replicate --follow` since LSN {last}"
        )
    in_flight = context.instance.get_runs(
        dg.RunsFilter(job_name=CDC_JOB, statuses=list(IN_FLIGHT)), limit=MAX_IN_FLIGHT
    )
    if len(in_flight) >= MAX_IN_FLIGHT:
        return dg.SensorResult(
            skip_reason=f"{len(in_flight)} runs of {CDC_JOB} in flight; the changes to "
            f"{', '.join(changed)} go to the next run"
        )
    keys = [replicated_key(settings.raw_prefix, *name.split(".", 1)) for name in changed]
    assets, checks = downstream_of(context.repository_def, keys)
    metadata = {
        "lsn": progress.lsn,
        "applied_at": dg.MetadataValue.timestamp(progress.updated_at),
    }
    return dg.SensorResult(
        run_requests=[
            dg.RunRequest(
                run_key=f"cdc-{progress.lsn}", asset_selection=assets, asset_check_keys=checks
            )
        ],
        asset_events=[
            dg.AssetMaterialization(
                asset_key=key,
                description="changes applied by `adw replicate --follow`",
                metadata={**metadata, "stream_lsn": progress.streams[name]},
            )
            for key, name in zip(keys, changed, strict=True)
        ],
        cursor=str(progress.lsn),
    )


def downstream_of(
    repository: dg.RepositoryDefinition, keys: list[dg.AssetKey]
) -> tuple[list[dg.AssetKey], list[dg.AssetCheckKey]]:
    """The assets of ``cdc_changes_job`` built from ``keys`` and their checks."""
    job = repository.get_job(CDC_JOB)
    graph = job.asset_layer.asset_graph
    in_job = set(job.asset_layer.executable_asset_keys)
    below = dg.AssetSelection.assets(*keys).downstream(include_self=False).resolve(graph)
    assets = sorted(below & in_job, key=lambda k: k.to_user_string())
    chosen = set(assets)
    checks = sorted(
        (c for c in graph.asset_check_keys if c.asset_key in chosen),
        key=lambda c: (c.asset_key.to_user_string(), c.name),
    )
    return assets, checks
