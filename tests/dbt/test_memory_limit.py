"""``ADW_DBT_MEMORY_LIMIT`` caps the DuckDB of dbt, run by adw or by hand (docs/dbt.md): at scale
100 a build took 2-4 GB under DuckDB's own default, 80% of the machine's memory, and 1.2 GB
in the same time under adw's default, 1GB."""

from __future__ import annotations

import os
import subprocess

import duckdb

from adw_assets.lib import dbt as lib
from tests.dbt.dbt_chain import settings_for


def _limit_in_dbt(tmp_path, **env: str) -> str:
    """The memory limit dbt's DuckDB connection runs under, from ``dbt show``."""
    settings = settings_for(tmp_path, **env)
    run_env = {k: v for k, v in os.environ.items() if not k.startswith("ADW_")}
    run_env |= lib.dbt_env(settings) | {"DBT_LOG_PATH": str(tmp_path / "logs")}
    root = lib.project_dir()
    done = subprocess.run(
        [lib.dbt_executable(settings), "show", "--inline",
         "select current_setting('memory_limit') as memory_limit", "--project-dir", str(root),
         "--profiles-dir", str(root), "--target-path", str(tmp_path / "target")],
        cwd=root, env=run_env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_dbt_runs_under_the_memory_limit_adw_passes_it(tmp_path):
    assert "953.6 MiB" in _limit_in_dbt(tmp_path)  # unset: adw's default, 1GB
    assert "1.5 GiB" in _limit_in_dbt(tmp_path, ADW_DBT_MEMORY_LIMIT="1.5GiB")
    # a share of the machine's memory, as DuckDB reads it (its own default is 80%)
    share = duckdb.connect(config={"memory_limit": "40%"})
    assert share.execute("select current_setting('memory_limit')").fetchall()[0][0] in (
        _limit_in_dbt(tmp_path, ADW_DBT_MEMORY_LIMIT="40%")
    )
