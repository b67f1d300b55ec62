"""The configuration of dbt's DuckDB, run by adw or by hand (docs/dbt.md): ``ADW_DBT_MEMORY_LIMIT``
caps it (at scale 100 a build took 2-4 GB under DuckDB's own default, 80% of the machine's
memory, and 1.2 GB in the same time under adw's default, 1GB), and its checkpoints do not
vacuum the replication's tables."""

from __future__ import annotations

import os
import subprocess

import duckdb

from adw_assets.lib import dbt as lib
from adw_assets.lib import warehouse
from adw_assets.lib.replication.duckdb_destination import ROW_GROUP_SIZE
from tests.dbt.dbt_chain import settings_for


def _dbt(tmp_path, *args: str, **env: str) -> str:
    """``dbt <args>`` as adw runs it, in ``ADW_HOME=tmp_path``; its output."""
    settings = settings_for(tmp_path, **env)
    run_env = {k: v for k, v in os.environ.items() if not k.startswith("ADW_")}
    run_env |= lib.dbt_env(settings) | {"DBT_LOG_PATH": str(tmp_path / "logs")}
    root = lib.project_dir()
    done = subprocess.run(
        [lib.dbt_executable(settings), *args, "--project-dir", str(root),
         "--profiles-dir", str(root), "--target-path", str(tmp_path / "target")],
        cwd=root, env=run_env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def _limit_in_dbt(tmp_path, **env: str) -> str:
    """The memory limit dbt's DuckDB connection runs under, from ``dbt show``."""
    query = "select current_setting('memory_limit') as memory_limit"
    return _dbt(tmp_path, "show", "--inline", query, **env)


def test_dbt_runs_under_the_memory_limit_adw_passes_it(tmp_path):
    assert "953.6 MiB" in _limit_in_dbt(tmp_path)  # unset: adw's default, 1GB
    assert "1.5 GiB" in _limit_in_dbt(tmp_path, ADW_DBT_MEMORY_LIMIT="1.5GiB")
    # a share of the machine's memory, as DuckDB reads it (its own default is 80%)
    share = duckdb.connect(config={"memory_limit": "40%"})
    assert share.execute("select current_setting('memory_limit')").fetchall()[0][0] in (
        _limit_in_dbt(tmp_path, ADW_DBT_MEMORY_LIMIT="40%")
    )


def test_dbt_leaves_the_replicated_tables_row_groups_as_the_replication_wrote_them(tmp_path):
    """dbt's DuckDB would merge the replication's small row groups that hold deleted rows into
    DuckDB's default 122,880-row groups, in its checkpoints: at scale 100 that rewrote the raw
    tables inside the first builds after an incremental sync (12-13 s of one model's time,
    every build until all were merged). The replication's own checkpoints tend its tables."""
    path = settings_for(tmp_path).duckdb_path
    path.parent.mkdir(parents=True, exist_ok=True)
    con = warehouse.connect(path, row_group_size=ROW_GROUP_SIZE)  # as the replication opens it
    con.execute(f"use {warehouse.ATTACHED_CATALOG}; create schema raw_sales")
    con.execute("create table raw_sales.lines as select range as id from range(200000)")
    con.execute("checkpoint")
    con.execute("delete from raw_sales.lines where id % 100 = 7")  # updated rows' old versions
    con.execute("checkpoint")
    groups = "select count(distinct row_group_id) from pragma_storage_info('raw_sales.lines')"
    before = con.execute(groups).fetchall()[0][0]
    con.close()
    assert before == 13

    _dbt(tmp_path, "seed", "--select", "orderstatus")  # a write: dbt checkpoints on close

    con = duckdb.connect(str(path), read_only=True)
    try:
        assert con.execute(groups).fetchall()[0][0] == before
        assert con.execute("select count(*) from raw_sales.lines").fetchall()[0][0] == 198_000
        seeded = "select count(*) from duckdb_tables() where table_name = 'orderstatus'"
        assert con.execute(seeded).fetchall()[0][0] == 1
    finally:
        con.close()
