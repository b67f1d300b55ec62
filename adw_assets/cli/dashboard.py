"""``adw dashboard``: the Streamlit dashboard on 127.0.0.1 over this ADW_HOME."""

from __future__ import annotations

import os
import sys

import click

from adw_assets.lib.paths import DASHBOARD_DIR
from adw_assets.settings import get_settings

APP = DASHBOARD_DIR / "app.py"


def streamlit_argv(port: int) -> list[str]:
    """The streamlit command line (settings also in dashboard/.streamlit/config.toml)."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(APP),
        "--server.address",
        "127.0.0.1",
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--browser.gatherUsageStats",
        "false",
        "--server.fileWatcherType",
        "none",
    ]


def _snapshot_if_missing() -> None:
    """A first snapshot, by its Dagster asset, when none exists and the marts are built."""
    from adw_assets.cli import pipeline
    from adw_assets.defs.dashboard.assets import SNAPSHOT_KEY
    from adw_assets.lib.serving import read_manifest, serving_dir

    settings = get_settings()
    if read_manifest(serving_dir(settings)) is not None:
        return
    if settings.warehouse == "duckdb" and not settings.duckdb_path.exists():
        return  # nothing built yet: the dashboard says to run `adw up`
    click.echo("no dashboard snapshot yet: exporting one (Dagster run) ...", err=True)
    job = pipeline.elt_job_subset(pipeline.load_definitions(), {SNAPSHOT_KEY})
    summary = pipeline.run(job, command="dashboard", quiet=True)
    if summary.success:
        click.echo(f"snapshot: {summary.snapshot_marts} marts exported", err=True)
    else:
        click.echo(f"snapshot not exported ({'; '.join(summary.errors)})", err=True)


@click.command(name="dashboard")
@click.option("--port", type=int, default=None, help="Port (default ADW_DASHBOARD_PORT or 8501).")
@click.option(
    "--export/--no-export",
    default=True,
    show_default=True,
    help="Export a first snapshot of the marts (its Dagster asset) when none exists yet.",
)
def command(port: int | None, export: bool) -> None:
    """Serve the dashboard (the five business questions, live web events) on 127.0.0.1."""
    settings = get_settings()
    port = port or settings.dashboard_port
    settings.ensure_dirs()
    if export:
        _snapshot_if_missing()
    env = dict(os.environ)
    env["ADW_HOME"] = str(settings.home)  # absolute: streamlit runs from dashboard/
    if "ADW_DUCKDB_PATH" in env:
        env["ADW_DUCKDB_PATH"] = str(settings.duckdb_path)
    env.setdefault("STREAMLIT_BROWSER_GATHER_USAGE_STATS", "false")
    click.echo(f"Dashboard on http://127.0.0.1:{port} (ADW_HOME={settings.home}); Ctrl-C stops it.")
    sys.stdout.flush()
    sys.stderr.flush()
    # exec: the dashboard process is this process (signals and kill reach streamlit itself)
    os.chdir(APP.parent)
    os.execve(sys.executable, streamlit_argv(port), env)
