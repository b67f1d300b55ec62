"""``adw-dbt``, the dbt command of adw's Dagster definitions: it answers ``--version`` (which
dagster-dbt asks before every build) without starting dbt, with the version of the dbt it runs,
and runs that dbt for everything else."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from adw_assets.defs.dbt.resources import dbt_resource
from adw_assets.lib.dbt import dbt_env, project_dir
from adw_assets.settings import get_settings

BIN = Path(sys.executable).parent


def _core_version(text: str) -> str:
    return re.search(r"installed:\s+(\d+\.\d+\.\d+)", text)[1]


def test_version_is_the_dbt_it_runs_without_importing_dbt():
    dbt = subprocess.run([BIN / "dbt", "--version"], capture_output=True, text=True, check=True)
    launcher = subprocess.run(
        [sys.executable, "-X", "importtime", BIN / "adw-dbt", "--version"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    assert _core_version(launcher.stdout) == _core_version(dbt.stdout)
    imported = {line.split("|")[-1].strip() for line in launcher.stderr.splitlines()}
    assert "dbt" not in imported and "dagster" not in imported


def test_anything_else_runs_dbt_itself(tmp_path):
    done = subprocess.run(
        [BIN / "adw-dbt", "ls", "--resource-type", "seed", "--quiet", "--output", "name",
         "--project-dir", project_dir(), "--profiles-dir", project_dir(),
         "--target-path", tmp_path, "--log-path", tmp_path],
        capture_output=True, text=True, cwd=project_dir(), env={**os.environ, **dbt_env()},
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert "orderstatus" in done.stdout.split()


def test_the_dagster_definitions_run_dbt_through_it(monkeypatch, tmp_path):
    assert dbt_resource(get_settings()).dbt_executable == str(BIN / "adw-dbt")
    # a dbt of the deployment's choosing (ADW_DBT_EXECUTABLE) is run as it is
    other = tmp_path / "dbt"
    other.write_text("#!/bin/sh\n")
    other.chmod(0o755)
    monkeypatch.setenv("ADW_DBT_EXECUTABLE", str(other))
    get_settings.cache_clear()
    assert dbt_resource(get_settings()).dbt_executable == str(other)
