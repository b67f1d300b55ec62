"""Run the jobs of the code location in this process, as `adw up`, `adw build` and
`adw replicate` do, and say what they did.

These commands run ``elt_job`` (the job Kestra triggers), whole or a selection of it, with the
same definitions and resources as the Dagster webserver: every run is recorded in the Dagster
instance under ``$ADW_HOME/dagster`` (``adw dev`` shows it), its asset checks run, and the
ops that open the warehouse wait in its concurrency pool for any other writer.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import sys
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import click
import dagster as dg

from adw_assets.cli._common import echo_table, print_answers  # noqa: F401 (callers' name)
from adw_assets.defs.dashboard.assets import OP_NAME as SNAPSHOT_OP
from adw_assets.defs.dbt.assets import OP_NAME as DBT_OP
from adw_assets.defs.warehouse.resources import POOL
from adw_assets.lib.dagster_home import FULL_REFRESH_TAG, ensure_dagster_home
from adw_assets.lib.dbt_state import record_build
from adw_assets.settings import get_settings

ELT_JOB = "elt_job"
PID_TAG, HOST_TAG = "adw/pid", "adw/host"
"""Runs of these commands carry their process; a run whose process died is failed next time."""
ORPHAN_CHECK_SECONDS = 5.0
REPLICATION_OP = "replicated_tables"
STEP_NAMES = {
    REPLICATION_OP: "replication",
    "replication_checks": "replication checks",
    DBT_OP: "dbt build",
    SNAPSHOT_OP: "dashboard snapshot",
    "web__events_dead_letter_ratio_below_threshold": "web events check",
}


@dataclass
class RunSummary:
    """What one run did, read from its events."""

    success: bool
    run_id: str
    seconds: float
    steps: dict[str, float] = field(default_factory=dict)
    """Seconds per step (op), in the order they ran."""
    streams: list[dict] = field(default_factory=list)
    """One dict per replicated table: its materialization metadata plus ``stream``."""
    materialized: list[str] = field(default_factory=list)
    """dbt models and seeds materialized, as asset keys."""
    row_counts: dict[str, int] = field(default_factory=dict)
    checks_passed: int = 0
    checks_failed: list[str] = field(default_factory=list)
    checks_warned: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    """Failed steps, with their error."""
    dbt_errors: dict[str, str] = field(default_factory=dict)
    """dbt nodes that errored -> first line of dbt's message."""
    dbt_skipped: int = 0
    snapshot_marts: int | None = None


def load_definitions() -> dg.Definitions:
    from adw_assets.definitions import build_definitions

    return build_definitions()


def elt_job_subset(
    defs: dg.Definitions, assets: Iterable[dg.AssetKey] | None, checks: bool = True
) -> dg.JobDefinition:
    """``elt_job``, or the part of it that builds ``assets`` (with their checks if ``checks``)."""
    job = defs.resolve_job_def(ELT_JOB)
    if assets is None and checks:
        return job
    graph = job.asset_layer.asset_graph
    keys = set(assets) if assets is not None else set(graph.get_all_asset_keys())
    check_keys = {c for c in graph.asset_check_keys if c.asset_key in keys} if checks else set()
    return job.get_subset(asset_selection=keys, asset_check_selection=check_keys)


def requested_job(defs: dg.Definitions, job_name: str, request: dg.RunRequest) -> dg.JobDefinition:
    """The part of ``job_name`` a sensor's ``request`` asks for (its asset and check
    selection), to run in this process as the daemon would launch it."""
    job = defs.resolve_job_def(job_name)
    if request.asset_selection is None:
        return job
    checks = set(request.asset_check_keys) if request.asset_check_keys is not None else None
    return job.get_subset(
        asset_selection=set(request.asset_selection), asset_check_selection=checks
    )


def run(
    job: dg.JobDefinition, *, command: str, full_refresh: bool = False, quiet: bool = False
) -> RunSummary:
    """Execute ``job`` in this process, recorded in the Dagster instance of ``ADW_HOME``.

    Progress goes to stderr (streams replicated, dbt's own lines) unless ``quiet``; raises
    nothing when a step fails (see ``RunSummary.success``).
    """
    settings = get_settings()
    settings.ensure_dirs()
    ensure_dagster_home(settings)
    tags = {"adw/command": command, PID_TAG: str(os.getpid()), HOST_TAG: socket.gethostname()}
    if full_refresh:
        tags[FULL_REFRESH_TAG] = "true"
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        instance = stack.enter_context(dg.DagsterInstance.get())
        fail_orphaned_runs(instance)
        say_who_holds_the_warehouse(instance)
        stack.enter_context(_progress(quiet))
        # a writer killed while this run waits for the pool must not keep it waiting forever
        stack.enter_context(_watch_orphans(instance))
        result = job.execute_in_process(
            instance=instance,
            tags=tags,
            raise_on_error=False,
            # the event log stays in the instance; failures come back in the summary
            run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
        )
        summary = summarize(result, time.perf_counter() - started, settings.home / "dbt" / "runs")
        if not result.success and job.graph.has_node_named(DBT_OP):
            # the dbt step records what its build read (lib/dbt_state.py); a later step that
            # failed (the snapshot) must not let the next build skip it
            record_build(settings, None, result.run_id)
        for stats in sorted(instance.get_run_step_stats(result.run_id), key=_started):
            if stats.start_time and stats.end_time:
                name = STEP_NAMES.get(stats.step_key, stats.step_key)
                summary.steps[name] = stats.end_time - stats.start_time
    return summary


def _started(stats) -> float:
    return stats.start_time or 0.0


def fail_orphaned_runs(instance: dg.DagsterInstance) -> None:
    """Fail the runs of adw commands on this machine whose process is gone (killed, or the
    machine restarted), and free the pool slots they held, so the next run does not wait for
    them forever. Runs launched by the webserver are its daemon's to monitor."""
    host = socket.gethostname()
    running = instance.get_runs(
        dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED, dg.DagsterRunStatus.STARTING])
    )
    for dagster_run in running:
        if dagster_run.tags.get(HOST_TAG) != host or PID_TAG not in dagster_run.tags:
            continue
        if _alive(int(dagster_run.tags[PID_TAG])):
            continue
        instance.report_run_failed(dagster_run, f"process {dagster_run.tags[PID_TAG]} is gone")
        instance.event_log_storage.free_concurrency_slots_for_run(dagster_run.run_id)
        click.echo(
            f"run {dagster_run.run_id} of a process that is gone was marked failed", err=True
        )


@contextlib.contextmanager
def _watch_orphans(instance: dg.DagsterInstance, every: float = ORPHAN_CHECK_SECONDS):
    stop = threading.Event()

    def watch() -> None:
        while not stop.wait(every):
            with contextlib.suppress(Exception):  # best effort; the next tick tries again
                fail_orphaned_runs(instance)

    thread = threading.Thread(target=watch, name="adw-orphaned-runs", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def say_who_holds_the_warehouse(instance: dg.DagsterInstance) -> None:
    """One line when another run holds the warehouse pool: this run will wait for it."""
    storage = instance.event_log_storage
    if not storage.supports_global_concurrency_limits:
        return
    info = storage.get_concurrency_info(POOL)
    holders = sorted({slot.run_id for slot in info.claimed_slots})
    if holders:
        click.echo(f"the warehouse is busy (run {', '.join(holders)}); waiting ...", err=True)


@contextlib.contextmanager
def _progress(quiet: bool):
    """Replication progress and dbt's lines on stderr (or nowhere); Dagster's per-event debug
    records stay off the root logger (``adw -v`` shows them)."""
    log, dagster_log = logging.getLogger("adw.replication"), logging.getLogger("dagster")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("  %(message)s"))
    saved = log.level, log.propagate, dagster_log.propagate
    dagster_log.propagate = logging.getLogger().level <= logging.DEBUG
    if not quiet:
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    with contextlib.ExitStack() as stack:
        # dagster-dbt echoes dbt's log lines on stdout: progress, so stderr (or nothing)
        sink = stack.enter_context(open(os.devnull, "w")) if quiet else sys.stderr
        stack.enter_context(contextlib.redirect_stdout(sink))
        try:
            yield
        finally:
            log.removeHandler(handler)
            log.setLevel(saved[0])
            log.propagate, dagster_log.propagate = saved[1], saved[2]


def summarize(result: dg.ExecuteInProcessResult, seconds: float, dbt_runs: Path) -> RunSummary:
    summary = RunSummary(success=result.success, run_id=result.run_id, seconds=seconds)
    for event in result.get_asset_materialization_events():
        key = event.asset_key.to_user_string()
        meta = {k: v.value for k, v in event.materialization.metadata.items()}
        if event.step_key == REPLICATION_OP:
            summary.streams.append({"stream": ".".join(event.asset_key.path), **meta})
        elif event.step_key == DBT_OP:
            summary.materialized.append(key)
            if (rows := meta.get("dagster/row_count")) is not None:
                summary.row_counts[key] = int(rows)
        elif event.step_key == SNAPSHOT_OP:
            summary.snapshot_marts = int(meta.get("marts", 0))
    for evaluation in result.get_asset_check_evaluations():
        name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
        if evaluation.passed:
            summary.checks_passed += 1
        elif evaluation.severity == dg.AssetCheckSeverity.WARN:
            summary.checks_warned.append(name)
        else:
            summary.checks_failed.append(name)
    retried = {}  # the error of each step's last attempt that Dagster retried
    for event in result.all_events:
        if event.is_step_up_for_retry and event.step_retry_data.error is not None:
            error = event.step_retry_data.error
            while error.cause is not None:  # the retry request wraps what the op raised
                error = error.cause
            retried[event.step_key] = error.message.strip()
    for event in result.get_step_failure_events():
        data = event.step_failure_data
        text = (data.user_failure_data.description if data.user_failure_data else None) or (
            data.error.message.strip() if data.error else "step failed"
        )
        if event.step_key in retried and text.startswith("Exceeded max_retries"):
            # Dagster's own line says only that it gave up: the cause is the last attempt's
            text = f"{retried[event.step_key]} ({text[0].lower()}{text[1:]})"
        summary.errors.append(f"{STEP_NAMES.get(event.step_key, event.step_key)}: {text}")
    for path in dbt_runs.glob(f"{result.run_id[:8]}-*/run_results.json"):
        for node in json.loads(path.read_text())["results"]:
            if node["status"] == "error":
                message = (node.get("message") or "").strip().splitlines()
                summary.dbt_errors[node["unique_id"]] = " ".join(
                    message[1:2] or message[:1]
                ).strip()
            elif node["status"] == "skipped":
                summary.dbt_skipped += 1
    return summary


def print_replication(summary: RunSummary, names: Iterable[str] = ()) -> list[str]:
    """The per-table replication table; returns the tables that were not replicated."""
    rows = []
    for s in summary.streams:
        secs = float(s.get("duration_seconds", 0.0))
        rate = f"{s['rows_read'] / secs:,.0f}" if secs > 0 and "rows_read" in s else "-"
        rows.append((s["stream"], s.get("rows_inserted", "-"), s.get("rows_updated", "-"),
                     s.get("rows_read", "-"), s.get("cursor") or "-", s.get("generation", "-"),
                     f"{secs:.2f}", rate))  # fmt: skip
    done = {s["stream"] for s in summary.streams}
    failed = [n for n in names if n not in done]
    rows += [(n, "-", "-", "-", "FAILED", "-", "-", "-") for n in failed]
    if rows:
        headers = ("stream", "inserted", "updated", "read", "cursor", "gen", "seconds", "rows/s")
        echo_table(rows, headers)
    total = sum(int(s.get("rows_read", 0)) for s in summary.streams)
    engine = max((float(s.get("replication_run_seconds", 0)) for s in summary.streams), default=0)
    click.echo(
        f"\n{len(summary.streams)} stream(s) replicated, {len(failed)} failed, {total:,} rows "
        f"read (replication {engine:.1f} s of the run's {summary.seconds:.1f} s)",
        err=True,
    )
    return failed


def print_build(summary: RunSummary) -> None:
    """The dbt part: marts and their rows, dbt errors."""
    marts = sorted((k, v) for k, v in summary.row_counts.items() if k.startswith("marts/"))
    if marts:
        echo_table(marts, ("table", "rows"))
    click.echo(f"\n{len(summary.materialized)} models/seeds built")
    for node, message in summary.dbt_errors.items():
        click.secho(f"  ERROR: {node}: {message}", fg="red")
    if summary.dbt_skipped:
        click.echo(f"  {summary.dbt_skipped} dbt nodes skipped after the failures")


def print_outcome(summary: RunSummary) -> None:
    """Checks, failed steps and where to see the run."""
    click.echo(
        f"{summary.checks_passed} checks passed, {len(summary.checks_warned)} warned, "
        f"{len(summary.checks_failed)} failed in {summary.seconds:.1f} s (Dagster run "
        f"{summary.run_id})"
    )
    for name in summary.checks_warned:
        click.secho(f"  warn: {name}", fg="yellow")
    for name in summary.checks_failed:
        click.secho(f"  FAIL: {name}", fg="red")
    for line in summary.errors:
        click.secho(f"error: {line}", fg="red", err=True)
