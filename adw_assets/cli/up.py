"""``adw up``: the main job, end to end, on the embedded default (or ADW_SOURCE_DSN).

source PostgreSQL (started, seeded when empty) -> a burst of web events -> ``elt_job`` in this
process (replication, its checks, dbt build with tests as checks, the dashboard snapshot and
its check: the job Kestra triggers hourly) -> the answers to the five business questions, read
from the snapshot the dashboard shows.
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

import click

from adw_assets.cli._common import echo_table, scale_option, seed_option, step
from adw_assets.errors import AdwError
from adw_assets.settings import get_settings


class PipelineError(AdwError):
    """A step of ``adw up`` failed."""


@click.command()
@scale_option
@seed_option
@click.option(
    "--events",
    type=int,
    default=2000,
    show_default=True,
    help="Web events to land before the build (0: none).",
)
def up(scale: float, seed_: int, events: int) -> None:
    """Start the source (seeding it when empty) and run the pipeline end to end."""
    from adw_assets.cli import pipeline
    from adw_assets.lib.dbt import card_hash_salt, partial_parse_ahead
    from adw_assets.lib.events import burst
    from adw_assets.lib.events.store import event_store
    from adw_assets.lib.source import server
    from adw_assets.lib.source.seed import is_seeded, seed_database

    started = time.perf_counter()
    settings = get_settings()
    card_hash_salt(settings)  # a missing salt stops here, in one line, before any work
    settings.ensure_dirs()
    server.check_replication_dsn(settings)
    timings: list[tuple[str, float]] = []

    # a fresh home: dbt parses the project while the source is seeded and the events land
    with partial_parse_ahead(settings):
        t0 = time.perf_counter()
        with step("source PostgreSQL" + (" (embedded)" if settings.embedded else "")):
            dsn = server.source_dsn(settings)
            if is_seeded(dsn):
                click.echo("  source already holds data: not seeding", err=True)
            else:
                click.echo(
                    f"  seeding synthetic AdventureWorks (scale {scale}, seed {seed_})", err=True
                )
                seed_database(dsn, scale=scale, seed=seed_)
        timings.append(("source", time.perf_counter() - t0))

        if events:
            t0 = time.perf_counter()
            with step(f"{events:,} web events into the {event_store(settings).where}"):
                landed = burst(n_events=events)
            click.echo(f"  {landed.get('accepted', events):,} events accepted", err=True)
            timings.append(("web events", time.perf_counter() - t0))

    with step("elt_job (Dagster run: replication, dbt build, dashboard snapshot)"):
        job = pipeline.elt_job_subset(pipeline.load_definitions(), None)
        summary = pipeline.run(job, command="up", quiet=True)
    timings += list(summary.steps.items())
    pipeline.print_replication(summary, [])
    pipeline.print_build(summary)
    pipeline.print_outcome(summary)
    if not summary.success:
        raise PipelineError(
            f"elt_job failed (see above, and run {summary.run_id} in `adw dev`); fix it and run "
            "`adw up` again."
        )
    pipeline.print_answers()
    click.echo("")
    echo_table([(name, f"{secs:.1f}") for name, secs in timings], ("step", "seconds"))
    click.echo(
        f"\nadw up finished in {time.perf_counter() - started:.1f} s; ADW_HOME={settings.home}"
    )
    adw = _adw_command()
    click.echo(f"dashboard:   {adw} dashboard  ->  http://127.0.0.1:{settings.dashboard_port}")
    click.echo(f"Dagster UI:  {adw} dev        ->  http://127.0.0.1:{settings.dagster_port}")
    click.echo(f"live events: {adw} events stream --rate 50")


def _adw_command() -> str:
    """How to call this adw again: ``adw`` when that is it on PATH, else the path it was run by
    (``.venv/bin/adw`` after ``make up``), relative to the working directory when inside it."""
    ran = Path(sys.argv[0]).resolve()
    found = shutil.which("adw")
    if found and Path(found).resolve() == ran:
        return "adw"
    return str(ran.relative_to(Path.cwd())) if ran.is_relative_to(Path.cwd()) else str(ran)
