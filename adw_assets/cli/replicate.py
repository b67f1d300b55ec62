"""``adw replicate [--full-refresh] [STREAM ...]``: replicate the source through Dagster.

The run is recorded in the Dagster instance under ``$ADW_HOME/dagster`` (the same one ``adw
dev`` shows). Progress (streams done, rows/s) goes to stderr; the summary table to stdout.
``run_replicate`` is also what ``adw up`` may call.
"""

from __future__ import annotations

import contextlib
import logging
import sys
import time
from dataclasses import dataclass, field

import click

from adw_assets.cli._common import echo_table
from adw_assets.settings import get_settings


@dataclass
class ReplicateSummary:
    success: bool
    run_id: str
    seconds: float
    engine_seconds: float = 0.0
    """The replication itself; the rest of ``seconds`` is Dagster (definitions, run, events)."""
    streams: list[dict] = field(default_factory=list)
    """One dict per materialized stream: the materialization metadata plus ``stream``."""
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    checks_failed: list[str] = field(default_factory=list)
    checks_warned: list[str] = field(default_factory=list)


@contextlib.contextmanager
def _progress_on_stderr(enabled: bool):
    log = logging.getLogger("adw.replication")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    saved = log.level, log.propagate
    dagster_log = logging.getLogger("dagster")
    saved_dagster = dagster_log.propagate
    dagster_log.propagate = logging.getLogger().level <= logging.DEBUG
    if enabled:
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    try:
        yield
    finally:
        log.removeHandler(handler)
        log.setLevel(saved[0])
        log.propagate = saved[1]
        dagster_log.propagate = saved_dagster


def run_replicate(
    streams: tuple[str, ...] | list[str] = (),
    *,
    full_refresh: bool = False,
    checks: bool = False,
    quiet: bool = False,
) -> ReplicateSummary:
    """Materialize the replicated assets of ``streams`` (default: all) in one Dagster run,
    with their asset checks when ``checks`` (each check event costs a write to the instance)."""
    from adw_assets.lib.dagster_home import FULL_REFRESH_TAG, WAREHOUSE_TAG, ensure_dagster_home
    from adw_assets.lib.replication import resolve_streams

    started = time.perf_counter()
    settings = get_settings()
    names = resolve_streams(list(streams) or None)  # a bad name fails before Dagster loads
    settings.ensure_dirs()
    ensure_dagster_home(settings)
    import dagster as dg

    from adw_assets.defs.replication import defs
    from adw_assets.defs.replication.assets import replicated_key

    keys = [replicated_key(settings.raw_prefix, *n.split(".", 1)) for n in names]
    job = defs.resolve_implicit_global_asset_job_def()
    check_keys = {c for c in job.asset_layer.asset_graph.asset_check_keys if c.asset_key in keys}
    job = job.get_subset(
        asset_selection=set(keys), asset_check_selection=check_keys if checks else set()
    )
    tags = {WAREHOUSE_TAG: "write"}
    if full_refresh:
        tags[FULL_REFRESH_TAG] = "true"
    with _progress_on_stderr(not quiet), dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(
            instance=instance,
            tags=tags,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
        )
    summary = ReplicateSummary(result.success, result.run_id, time.perf_counter() - started)
    done = set()
    for event in result.get_asset_materialization_events():
        key = event.asset_key.path
        meta = {k: v.value for k, v in event.materialization.metadata.items()}
        summary.streams.append({"stream": ".".join(key), **meta})
        summary.engine_seconds = max(summary.engine_seconds, meta.get("replication_run_seconds", 0))
        done.add(tuple(key))
    summary.failed = [n for n, k in zip(names, keys, strict=True) if tuple(k.path) not in done]
    for event in result.get_step_failure_events():
        data = event.step_failure_data
        text = (data.user_failure_data.description if data.user_failure_data else None) or (
            data.error.message.strip() if data.error else "step failed"
        )
        summary.errors.append(text)
    for ev in result.get_asset_check_evaluations():
        label = f"{'.'.join(ev.asset_key.path)}:{ev.check_name}"
        if not ev.passed:
            warn = ev.severity == dg.AssetCheckSeverity.WARN
            (summary.checks_warned if warn else summary.checks_failed).append(label)
    summary.success = summary.success and not summary.failed
    return summary


def print_summary(summary: ReplicateSummary) -> None:
    rows = []
    for s in summary.streams:
        secs = float(s.get("duration_seconds", 0.0))
        rate = f"{s['rows_read'] / secs:,.0f}" if secs > 0 else "-"
        rows.append((s["stream"], s["rows_inserted"], s["rows_updated"], s["rows_read"],
                     s["cursor"] or "-", s["generation"], f"{secs:.2f}", rate))  # fmt: skip
    rows += [(n, "-", "-", "-", "FAILED", "-", "-", "-") for n in summary.failed]
    if rows:
        headers = ("stream", "inserted", "updated", "read", "cursor", "gen", "seconds", "rows/s")
        echo_table(rows, headers)
    for line in summary.errors:
        click.secho(f"error: {line}", fg="red", err=True)
    for label in summary.checks_failed:
        click.secho(f"check failed: {label}", fg="red", err=True)
    for label in summary.checks_warned:
        click.secho(f"check warning: {label}", fg="yellow", err=True)
    total = sum(int(s["rows_read"]) for s in summary.streams)
    click.echo(
        f"\n{len(summary.streams)} stream(s) replicated, {len(summary.failed)} failed, "
        f"{total:,} rows read in {summary.seconds:.1f} s (replication {summary.engine_seconds:.1f}"
        f" s, Dagster {summary.seconds - summary.engine_seconds:.1f} s); run {summary.run_id}",
        err=True,
    )


@click.command(name="replicate")
@click.argument("streams", nargs=-1, metavar="[STREAM]...")
@click.option(
    "--full-refresh",
    is_flag=True,
    help="Rebuild the streams from scratch (new generation) instead of syncing incrementally.",
)
@click.option(
    "--checks",
    is_flag=True,
    help="Also run the replication checks (row counts vs the source, primary keys).",
)
def command(streams: tuple[str, ...], full_refresh: bool, checks: bool) -> None:
    """Replicate the source tables into the warehouse, through Dagster.

    STREAM is schema.table or a bare table name (all 12 tables when none is given). Exits 1
    when any stream failed.
    """
    summary = run_replicate(streams, full_refresh=full_refresh, checks=checks)
    print_summary(summary)
    if not summary.success:
        sys.exit(1)
