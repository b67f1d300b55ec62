"""``adw replicate [--full-refresh] [STREAM ...]``: the replication of ``elt_job``, in this
process.

The run is recorded in the Dagster instance under ``$ADW_HOME/dagster`` (the same one ``adw
dev`` shows). Progress (streams done, rows/s) goes to stderr; the summary table to stdout.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import click

from adw_assets.lib.replication import resolve_streams
from adw_assets.lib.source.server import check_replication_dsn
from adw_assets.settings import get_settings

if TYPE_CHECKING:  # Dagster is imported when a command runs, not for `adw --help`
    from adw_assets.cli import pipeline


def run_replicate(
    streams: tuple[str, ...] | list[str] = (),
    *,
    full_refresh: bool = False,
    checks: bool = False,
    quiet: bool = False,
) -> tuple[pipeline.RunSummary, list[str]]:
    """Materialize the replicated tables of ``streams`` (default: all) in one Dagster run,
    with their checks when ``checks``; returns the summary and the stream names asked for."""
    from adw_assets.cli import pipeline
    from adw_assets.defs.replication.resources import replicated_key

    names = resolve_streams(list(streams) or None)  # a bad name fails before Dagster loads
    check_replication_dsn(get_settings())  # so does an external source without a read-only role
    prefix = get_settings().raw_prefix
    keys = [replicated_key(prefix, *n.split(".", 1)) for n in names]
    defs = pipeline.load_definitions()
    job = pipeline.elt_job_subset(defs, keys, checks=checks)
    summary = pipeline.run(job, command="replicate", full_refresh=full_refresh, quiet=quiet)
    return summary, [".".join(k.path) for k in keys]


def _cdc_admin(setup: bool, teardown: bool) -> bool:
    """``--cdc-setup`` / ``--cdc-teardown`` as the tables' owner; whether to replicate next."""
    from adw_assets.errors import ConfigError
    from adw_assets.lib.replication import cdc_slot
    from adw_assets.lib.source.server import replication_connection_limit, source_dsn

    if setup and teardown:
        raise ConfigError("--cdc-setup and --cdc-teardown exclude each other; give one.")
    settings = get_settings()
    owner = source_dsn(settings)
    if teardown:
        done = cdc_slot.teardown(owner)
        click.echo(f"dropped {', '.join(done)}" if done else "nothing to drop", err=True)
        return False
    limit = replication_connection_limit(settings)
    done = cdc_slot.setup(owner, superuser_role=settings.embedded, connection_limit=limit)
    click.echo(f"set up {', '.join(done) or 'nothing new'}", err=True)
    if settings.replication_method != "cdc":
        click.echo("set ADW_REPLICATION_METHOD=cdc, then `adw replicate`, to use it", err=True)
        return False
    return True


def _follow(streams: tuple[str, ...], full_refresh: bool) -> None:
    """``--follow``: the initial snapshot through Dagster when the warehouse has none (or
    ``--full-refresh``), then :class:`cdc_follow.Follower` until Ctrl-C or SIGTERM."""
    import signal

    from adw_assets.cli import pipeline
    from adw_assets.errors import ConfigError
    from adw_assets.lib.replication import cdc_follow, cdc_progress, destination_from_settings
    from adw_assets.lib.source.server import cdc_dsn

    settings = get_settings()
    if settings.replication_method != "cdc":
        raise ConfigError(
            "--follow reads the changes from the write-ahead log: set ADW_REPLICATION_METHOD=cdc "
            "(and run `adw replicate --cdc-setup` once)."
        )
    if streams:
        raise ConfigError("--follow replicates every stream (one slot); give no stream names.")
    follower = cdc_follow.Follower(
        cdc_dsn(settings), destination_from_settings(settings), prefix=settings.raw_prefix,
        batch_changes=settings.replication_cdc_batch_changes,
        poll_seconds=settings.replication_cdc_poll_seconds,
        retries=settings.replication_retries, workers=settings.replication_workers,
        raw_history=settings.replication_raw_history,
        progress=cdc_progress.progress_path(settings.home),  # what Dagster's sensor reads
    )  # fmt: skip
    if full_refresh or follower.needs_snapshot():
        summary, names = run_replicate((), full_refresh=full_refresh)
        if pipeline.print_replication(summary, names) or not summary.success:
            for line in summary.errors:
                click.secho(f"error: {line}", fg="red", err=True)
            sys.exit(1)

    def stop(*_args) -> None:
        if not follower.stopping.is_set():
            click.echo("stopping after the current micro-batch...", err=True)
        follower.stop()

    stops = (signal.SIGINT, signal.SIGTERM)
    previous = {sig: signal.signal(sig, stop) for sig in stops}
    click.echo("following the source's changes (Ctrl-C or SIGTERM stops)", err=True)
    try:
        summary = follower.run(report=lambda line: click.echo(line, err=True))
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo(summary.format())


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
@click.option(
    "--cdc-setup",
    is_flag=True,
    help="Create the CDC role and publication (as the tables' owner); with "
    "ADW_REPLICATION_METHOD=cdc, then take the initial snapshot (which creates the slot).",
)
@click.option(
    "--cdc-teardown",
    is_flag=True,
    help="Drop the CDC replication slot (freeing the WAL it holds) and the publication.",
)
@click.option(
    "--follow",
    is_flag=True,
    help="With ADW_REPLICATION_METHOD=cdc: after the initial snapshot if needed, apply the "
    "changes continuously in micro-batches, printing changes/s and lag, until Ctrl-C/SIGTERM.",
)
def command(
    streams: tuple[str, ...], full_refresh: bool, checks: bool, cdc_setup: bool,
    cdc_teardown: bool, follow: bool,
) -> None:  # fmt: skip
    """Replicate the source tables into the warehouse, through Dagster.

    STREAM is schema.table or a bare table name (all 12 tables when none is given). Exits 1
    when any stream failed.
    """
    from adw_assets.cli import pipeline

    if (cdc_setup or cdc_teardown) and not _cdc_admin(cdc_setup, cdc_teardown):
        return
    if follow:
        _follow(streams, full_refresh)
        return

    summary, names = run_replicate(streams, full_refresh=full_refresh, checks=checks)
    failed = pipeline.print_replication(summary, names)
    if checks:
        pipeline.print_outcome(summary)
    else:
        for line in summary.errors:
            click.secho(f"error: {line}", fg="red", err=True)
        click.echo(f"Dagster run {summary.run_id}", err=True)
    if failed or not summary.success:
        sys.exit(1)
