"""``adw source``: the AdventureWorks PostgreSQL source."""

from __future__ import annotations

from pathlib import Path

import click

from adw_assets.cli._common import echo_table, scale_option, seed_option, step
from adw_assets.settings import get_settings


@click.group()
def source() -> None:
    """Manage the source PostgreSQL (embedded by default, or ADW_SOURCE_DSN)."""


@source.command()
def start() -> None:
    """Start the embedded PostgreSQL (creates database, tables and read-only role)."""
    from adw_assets.lib.source import server

    settings = get_settings()
    dsn = server.start_embedded(settings)
    click.echo(f"embedded PostgreSQL running, data in {settings.pgdata}")
    click.echo(dsn)


@source.command()
def stop() -> None:
    """Stop the embedded PostgreSQL."""
    from adw_assets.lib.source import server

    settings = get_settings()
    if settings.source_dsn:
        raise click.UsageError("ADW_SOURCE_DSN is set: adw never stops an external database.")
    click.echo("stopped" if server.stop_embedded(settings) else "not running")


@source.command()
def status() -> None:
    """Show whether the source is up and how many rows each table holds."""
    from adw_assets.lib.secrets import redact_dsn
    from adw_assets.lib.source import server

    st = server.status(get_settings())
    kind = "embedded" if st.embedded else "external (ADW_SOURCE_DSN)"
    state = "running" if st.running else "not running"
    click.echo(f"source: {kind}, {state}" + (f", pid {st.pid}" if st.pid else ""))
    if st.dsn:
        click.echo(f"dsn: {redact_dsn(st.dsn)}")
    if st.tables:
        echo_table(sorted(st.tables.items()), ("table", "rows"))
    if not st.running:
        raise SystemExit(3)


@source.command()
@click.option("--replication", is_flag=True, help="The DSN of the read-only replication role.")
def dsn(replication: bool) -> None:
    """Print the DSN of the source database (starts the embedded server when needed)."""
    from adw_assets.lib.source import server

    settings = get_settings()
    click.echo(server.replication_dsn(settings) if replication else server.source_dsn(settings))


@source.command()
@scale_option
@seed_option
@click.option("--replace", is_flag=True, help="Wipe an already-seeded database first.")
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="Anchor date: orders span the 3 years before it (default: today).",
)
def seed(scale: float, seed_: int, replace: bool, today) -> None:
    """Fill the source with synthetic AdventureWorks data (faker, loaded with COPY)."""
    from adw_assets.lib.source import server
    from adw_assets.lib.source.seed import seed_database

    dsn_ = server.source_dsn(get_settings())
    anchor = today.date() if today else None
    with step(f"seeding AdventureWorks at scale {scale} (seed {seed_})"):
        counts = seed_database(dsn_, scale=scale, seed=seed_, replace=replace, today=anchor)
    echo_table(list(counts.items()), ("table", "rows"))


@source.command()
@click.argument("directory", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--replace", is_flag=True, help="Wipe an already-loaded database first.")
def load(directory: Path, replace: bool) -> None:
    """Load real AdventureWorks CSVs (<schema>.<table>.csv with a header row) in one transaction."""
    from adw_assets.lib.source import server
    from adw_assets.lib.source.load import load_directory

    dsn_ = server.source_dsn(get_settings())
    with step(f"loading {directory}"):
        counts = load_directory(dsn_, directory, replace=replace)
    echo_table(list(counts.items()), ("table", "rows"))


@source.command()
@click.option("--orders", type=int, default=100, show_default=True, help="New orders to place.")
@click.option(
    "--updates",
    type=int,
    default=200,
    show_default=True,
    help="Updates: status changes, address and price changes.",
)
@click.option(
    "--deletes",
    type=int,
    default=0,
    show_default=True,
    help="Hard deletes: order lines, unused credit cards, whole orders with their lines.",
)
@click.option("--seed", "seed_", type=int, default=None, help="Random seed (default: random).")
def simulate(orders: int, updates: int, deletes: int, seed_: int | None) -> None:
    """Simulate the shop's OLTP activity; every change bumps modifieddate (deletes leave no
    row behind: only ADW_REPLICATION_METHOD=cdc replicates them)."""
    from adw_assets.lib.source import server
    from adw_assets.lib.source.simulate import simulate as run_simulation

    dsn_ = server.source_dsn(get_settings())
    with step(f"simulating {orders} orders, {updates} updates and {deletes} deletes"):
        summary = run_simulation(dsn_, orders=orders, updates=updates, deletes=deletes, seed=seed_)
    echo_table(list(summary.items()), ("change", "rows"))
