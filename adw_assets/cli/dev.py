"""``adw dev``: the Dagster UI over this ADW_HOME."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click

from adw_assets.settings import get_settings

REPO_ROOT = Path(__file__).resolve().parents[2]


def dagster_env() -> dict[str, str]:
    """The environment for a Dagster process over this ADW_HOME."""
    from adw_assets.lib.dagster_home import ensure_dagster_home

    settings = get_settings()
    settings.ensure_dirs()
    ensure_dagster_home(settings)
    env = dict(os.environ)
    env["ADW_HOME"] = str(settings.home)
    env["DAGSTER_HOME"] = str(settings.dagster_home)
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    return env


def dagster_dev_command(workspace: Path, port: int) -> list[str]:
    """``dagster dev`` (webserver and daemon) of ``workspace`` on 127.0.0.1:``port``."""
    return [sys.executable, "-m", "dagster", "dev", "-w", str(workspace),
            "-h", "127.0.0.1", "-p", str(port)]  # fmt: skip


@click.command()
@click.option("--port", type=int, default=None, help="Port (default ADW_DAGSTER_PORT or 3000).")
def dev(port: int | None) -> None:
    """Start the Dagster UI and daemon (dagster dev) on 127.0.0.1."""
    settings = get_settings()
    port = port or settings.dagster_port
    cmd = dagster_dev_command(REPO_ROOT / "workspace.yaml", port)
    click.echo(f"Dagster UI on http://127.0.0.1:{port} (DAGSTER_HOME={settings.dagster_home})")
    raise SystemExit(subprocess.call(cmd, env=dagster_env(), cwd=REPO_ROOT))
