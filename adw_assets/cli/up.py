"""``adw up``: the main job, end to end, on the embedded default (or ADW_SOURCE_DSN).

source PostgreSQL (started, seeded when empty) -> a burst of web events -> replication ->
dbt build (tests as checks) -> dashboard snapshot -> short answers to the business questions.
Replication and dbt run through Dagster, so every run shows in ``adw dev``.
"""

from __future__ import annotations

import time

import click

from adw_assets.cli._common import echo_table, step
from adw_assets.errors import AdwError
from adw_assets.settings import get_settings


class PipelineError(AdwError):
    """A step of ``adw up`` failed."""


@click.command()
@click.option(
    "--scale",
    type=float,
    default=1.0,
    show_default=True,
    help="Scale of the synthetic data when the source is empty.",
)
@click.option(
    "--seed",
    "seed_",
    type=int,
    default=42,
    show_default=True,
    help="Random seed of the synthetic data.",
)
@click.option(
    "--events",
    type=int,
    default=2000,
    show_default=True,
    help="Web events to land before the build (0: none).",
)
def up(scale: float, seed_: int, events: int) -> None:
    """Start the source (seeding it when empty) and run the pipeline end to end."""
    from adw_assets.cli.build import echo_summary, print_answers, run_build
    from adw_assets.cli.replicate import print_summary as echo_replication
    from adw_assets.cli.replicate import run_replicate
    from adw_assets.lib.dagster_home import ensure_dagster_home
    from adw_assets.lib.events import burst
    from adw_assets.lib.serving import export_snapshot, serving_dir
    from adw_assets.lib.source import server
    from adw_assets.lib.source.seed import is_seeded, seed_database

    started = time.perf_counter()
    settings = get_settings()
    settings.ensure_dirs()
    ensure_dagster_home(settings)
    timings: list[tuple[str, float]] = []

    def timed(name: str, t0: float) -> None:
        timings.append((name, time.perf_counter() - t0))

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
    timed("source", t0)

    if events:
        t0 = time.perf_counter()
        with step(f"landing {events:,} web events"):
            landed = burst(n_events=events)
        click.echo(f"  {landed.get('accepted', events):,} events accepted", err=True)
        timed("web events", t0)

    t0 = time.perf_counter()
    with step("replication (Dagster run)"):
        replicated = run_replicate(checks=True, quiet=True)
    echo_replication(replicated)
    timed("replication", t0)
    if not replicated.success:
        raise PipelineError("replication failed (see above); fix it and run `adw up` again.")

    t0 = time.perf_counter()
    with step("dbt build (Dagster run)"):
        built = run_build(quiet=True)
    echo_summary(built)
    timed("dbt build", t0)
    if not built.success:
        raise PipelineError("dbt build failed (see above); fix it and run `adw build`.")

    t0 = time.perf_counter()
    manifest = export_snapshot(settings.duckdb_path, serving_dir(settings))
    timed("dashboard snapshot", t0)
    click.echo(f"dashboard snapshot: {len(manifest['marts'])} marts exported", err=True)

    click.echo("")
    print_answers(settings.duckdb_path)
    click.echo("")
    echo_table([(name, f"{secs:.1f}") for name, secs in timings], ("step", "seconds"))
    click.echo(
        f"\nadw up finished in {time.perf_counter() - started:.1f} s; ADW_HOME={settings.home}"
    )
    click.echo(
        f"dashboard:  .venv/bin/adw dashboard  ->  http://127.0.0.1:{settings.dashboard_port}"
    )
    click.echo(f"Dagster UI: .venv/bin/adw dev        ->  http://127.0.0.1:{settings.dagster_port}")
    click.echo("live events: .venv/bin/adw events stream --rate 50")
