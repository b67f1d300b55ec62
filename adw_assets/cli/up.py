"""``adw up``: the main job, end to end, on the embedded default."""

from __future__ import annotations

import time

import click

from adw_assets.cli._common import echo_table, step
from adw_assets.settings import get_settings


@click.command()
@click.option(
    "--scale",
    type=float,
    default=1.0,
    show_default=True,
    help="Scale of the synthetic data when the source is empty.",
)
@click.option("--seed", "seed_", type=int, default=42, show_default=True)
def up(scale: float, seed_: int) -> None:
    """Start the source (seeding it when empty) and run the pipeline end to end."""
    from adw_assets.lib.source import server
    from adw_assets.lib.source.seed import is_seeded, seed_database

    started = time.perf_counter()
    settings = get_settings()
    settings.ensure_dirs()
    with step("source PostgreSQL"):
        dsn = server.source_dsn(settings)
    if is_seeded(dsn):
        click.echo("source already holds data: not seeding", err=True)
    else:
        with step(f"seeding synthetic AdventureWorks (scale {scale})"):
            seed_database(dsn, scale=scale, seed=seed_)
    echo_table(sorted(server.table_counts(dsn).items()), ("source table", "rows"))
    click.echo(
        f"\nadw up finished in {time.perf_counter() - started:.1f} s; ADW_HOME={settings.home}"
    )
