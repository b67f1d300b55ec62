"""``adw airbyte``: the Airbyte production backend (``ADW_REPLICATION=airbyte``).

``refresh-specs`` asks Airbyte for the connection's streams and rewrites the spec cache the
code location loads from; ``status`` shows the configuration, the cache and the latest jobs.
"""

from __future__ import annotations

import click

from adw_assets.cli._common import echo_table, step
from adw_assets.errors import ConfigError
from adw_assets.lib.airbyte.cache import make_snapshot, read_snapshot, write_snapshot
from adw_assets.lib.airbyte.config import airbyte_config
from adw_assets.lib.airbyte.translation import check_snapshot, selected_tables
from adw_assets.lib.mappings import load
from adw_assets.settings import get_settings


@click.group(name="airbyte")
def command() -> None:
    """Airbyte replication (production): spec cache and status."""


def _print_streams(snapshot: dict) -> None:
    rows = [
        (
            f"{t.source_namespace}.{t.stream}",
            t.table_name,
            f"{t.sync_mode} | {t.destination_sync_mode}",
            ", ".join(t.cursor_field) or "-",
            ", ".join(t.primary_key) or "-",
        )
        for t in selected_tables(snapshot)
    ]
    echo_table(rows, ("stream", "table (asset key)", "sync mode", "cursor", "primary key"))


def _from_source() -> dict:
    from adw_assets.lib.airbyte.catalog import (
        introspect,
        recommended_connection,
        recommended_destination,
    )
    from adw_assets.lib.source.server import connect, replication_dsn

    settings = get_settings()
    with connect(replication_dsn(settings)) as conn:
        streams = introspect(conn)
    return make_snapshot(
        recommended_connection(
            streams, raw_prefix=settings.raw_prefix, mappings=load(settings.replication_mappings)
        ),
        recommended_destination(settings.warehouse),
        refreshed_from="default: the recommended connection, generated from the source tables "
        "(adw airbyte refresh-specs --from-source)",
    )


@command.command(name="refresh-specs")
@click.option(
    "--output",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the cache here (default: ADW_AIRBYTE_SPECS or the one shipped with adw).",
)
@click.option(
    "--from-source",
    is_flag=True,
    help="Do not call Airbyte: describe the recommended connection from the source tables "
    "(how the shipped default cache is made).",
)
def refresh_specs(output: str | None, from_source: bool) -> None:
    """Fetch the connection's streams from Airbyte and rewrite the spec cache.

    The Dagster code location loads the Airbyte assets from this cache and never calls
    Airbyte while loading. Refuses a connection that writes other tables than
    <ADW_RAW_PREFIX><schema>.<table>.
    """
    from pathlib import Path

    settings = get_settings()
    cfg = airbyte_config(settings)
    path = Path(output).resolve() if output else cfg.specs_path
    if from_source:
        with step("reading the source tables"):
            snapshot = _from_source()
    else:
        from adw_assets.lib.airbyte.api import fetch_snapshot, make_client

        cfg.require()
        with step(f"asking Airbyte at {cfg.rest_api_base_url} for connection {cfg.connection_id}"):
            snapshot = fetch_snapshot(make_client(cfg), cfg.connection_id)
    errors, warnings = check_snapshot(
        snapshot, settings.raw_prefix, load(settings.replication_mappings)
    )
    for w in warnings:
        click.secho(f"warning: {w}", fg="yellow", err=True)
    if errors:
        raise ConfigError(
            "the connection does not write the tables adw expects; the cache is unchanged. "
            + " ".join(errors)
        )
    write_snapshot(path, snapshot)
    _print_streams(snapshot)
    click.echo(
        f"wrote {path}: connection '{snapshot['connection']['name']}' "
        f"({snapshot['connection']['connectionId']}), {len(selected_tables(snapshot))} streams, "
        f"destination {snapshot['destination']['destinationType']}",
        err=True,
    )


@command.command(name="status")
@click.option("--offline", is_flag=True, help="Do not call Airbyte; show settings and cache.")
def status(offline: bool) -> None:
    """Show the Airbyte settings, the spec cache and the connection's latest jobs."""
    settings = get_settings()
    cfg = airbyte_config(settings)
    click.echo(f"replication backend: {settings.replication}")
    click.echo(f"airbyte: {'cloud' if cfg.cloud else cfg.url} (auth: {cfg.auth})")
    click.echo(f"workspace: {cfg.workspace_id or '(ADW_AIRBYTE_WORKSPACE_ID unset)'}")
    click.echo(f"connection: {cfg.connection_id or '(ADW_AIRBYTE_CONNECTION_ID unset)'}")
    snapshot = read_snapshot(cfg.specs_path)
    cached = snapshot["connection"]
    click.echo(
        f"spec cache: {cfg.specs_path} (refreshed "
        f"{snapshot.get('refreshed_at') or 'never: the shipped default'}; connection "
        f"{cached['connectionId']}, {len(selected_tables(snapshot))} streams)"
    )
    if cfg.connection_id and cfg.connection_id != cached["connectionId"]:
        click.secho(
            "note: the cache describes another connection; run `adw airbyte refresh-specs`.",
            fg="yellow",
        )
    if offline:
        return
    from adw_assets.lib.airbyte.api import make_client, recent_jobs

    cfg.require()
    jobs = recent_jobs(make_client(cfg), cfg.connection_id)
    echo_table(
        [
            (j.get("jobId"), j.get("status"), j.get("startTime"), j.get("rowsSynced", "-"))
            for j in jobs
        ],
        ("job", "status", "started", "rows"),
    )
