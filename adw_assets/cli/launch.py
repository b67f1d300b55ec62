"""``adw launch``: launch a Dagster job on a running webserver over GraphQL."""

from __future__ import annotations

import json
from pathlib import Path

import click
import yaml

from adw_assets.settings import get_settings


@click.command(name="launch")
@click.argument("job")
@click.option("--wait/--no-wait", default=False, help="Wait for the run to end.")
@click.option("--url", default=None, help="GraphQL endpoint (default ADW_DAGSTER_URL).")
@click.option("--location", default="adw", show_default=True, help="Code location name.")
@click.option("--repository", default="__repository__", show_default=True)
@click.option(
    "--config",
    "config_path",
    type=click.Path(exists=True, path_type=Path),
    help="Run config as a YAML or JSON file.",
)
@click.option(
    "--timeout",
    type=float,
    default=3600.0,
    show_default=True,
    help="Seconds to wait at most (with --wait).",
)
def command(
    job: str,
    wait: bool,
    url: str | None,
    location: str,
    repository: str,
    config_path: Path | None,
    timeout: float,
) -> None:
    """Launch JOB on a running Dagster webserver; with --wait, exit non-zero unless it succeeds."""
    from adw_assets.lib.dagster_graphql import DagsterGraphQL

    settings = get_settings()
    url = url or settings.dagster_url
    run_config = yaml.safe_load(config_path.read_text()) if config_path else {}
    token = settings.dagster_token.get_secret_value() if settings.dagster_token else None
    client = DagsterGraphQL(url, token=token)
    run_id = client.launch(job, location, repository, run_config)
    click.echo(json.dumps({"run_id": run_id, "job": job, "status": "LAUNCHED"}))
    if not wait:
        return
    result = client.wait(run_id, timeout=timeout)
    seconds = (result.end_time or 0) - (result.start_time or 0) if result.start_time else 0
    click.echo(
        json.dumps(
            {"run_id": run_id, "job": job, "status": result.status, "seconds": round(seconds, 1)}
        )
    )
    for line in result.failures:
        click.secho(f"  {line}", fg="red", err=True)
    if not result.ok:
        raise SystemExit(1)
