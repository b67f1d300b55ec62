"""``adw dev``: the Dagster UI over this ADW_HOME."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import click
import yaml

from adw_assets.lib.paths import REPO_ROOT
from adw_assets.settings import Settings, get_settings

LOCATION = {"module_name": "adw_assets.definitions", "location_name": "adw"}
"""The code location of workspace.yaml (and of `dg`, ``[tool.dg]`` in pyproject.toml)."""


def workspace_file(settings: Settings) -> Path:
    """workspace.yaml of the checkout; installed from a wheel (no checkout), the same location
    written under DAGSTER_HOME."""
    if REPO_ROOT is not None:
        return REPO_ROOT / "workspace.yaml"
    path = settings.dagster_home / "workspace.yaml"
    path.write_text(yaml.safe_dump({"load_from": [{"python_module": LOCATION}]}))
    return path


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
    from adw_assets.cli import QUIET_WARNINGS

    env["PYTHONWARNINGS"] = ",".join(filter(None, [env.get("PYTHONWARNINGS"), QUIET_WARNINGS]))
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
    env = dagster_env()
    cmd = dagster_dev_command(workspace_file(settings), port)
    click.echo(f"Dagster UI on http://127.0.0.1:{port} (DAGSTER_HOME={settings.dagster_home})")
    raise SystemExit(subprocess.call(cmd, env=env, cwd=REPO_ROOT))
