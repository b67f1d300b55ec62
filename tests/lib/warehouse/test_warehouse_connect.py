"""Opening the DuckDB warehouse while another process holds its lock."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from adw_assets.lib.warehouse import (
    ATTACHED_CATALOG,
    WarehouseBusyError,
    connect,
    table_columns,
    table_exists,
)

HOLD = (
    "import duckdb, sys, time\n"
    "con = duckdb.connect(sys.argv[1])\n"
    "print('locked', flush=True)\n"
    "time.sleep(float(sys.argv[2]))\n"
    "con.close()\n"
)


def _hold(path, seconds: float) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-c", HOLD, str(path), str(seconds)], stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout.readline().strip() == "locked"
    return proc


def test_connect_waits_for_the_other_writer_to_let_go(tmp_path):
    path = tmp_path / "w.duckdb"
    holder = _hold(path, 1.0)
    started = time.perf_counter()
    con = connect(path, timeout=30)
    waited = time.perf_counter() - started
    con.execute("create table t as select 1 as a")
    assert table_exists(con, "main", "t") and table_columns(con, "main", "t") == {"a": "INTEGER"}
    con.close()
    holder.wait(10)
    assert waited >= 0.5


def test_connect_gives_up_with_a_message_naming_the_file(tmp_path):
    path = tmp_path / "w.duckdb"
    holder = _hold(path, 10.0)
    try:
        with pytest.raises(WarehouseBusyError, match="locked by another process") as err:
            connect(path, timeout=0.5)
        assert str(path) in str(err.value)
    finally:
        holder.kill()
        holder.wait(10)


def test_a_row_group_size_writes_smaller_groups_that_any_connection_reads(tmp_path):
    path = tmp_path / "w.duckdb"
    holder = _hold(path, 1.0)  # the attach path waits for the lock too
    con = connect(path, timeout=30, row_group_size=16_384)
    holder.wait(10)
    cur = con.cursor()
    cur.execute(f"use {ATTACHED_CATALOG}")
    cur.execute("create table t as select range as a from range(100000)")
    con.close()
    with connect(path, read_only=True) as plain:
        groups = plain.execute(
            "select count(distinct row_group_id) from pragma_storage_info('t')"
        ).fetchall()[0][0]
        assert plain.execute("select count(*), sum(a) from t").fetchall() == [
            (100_000, sum(range(100_000)))
        ]
    assert groups == 7  # ceil(100,000 / 16,384); one group at the default size


def test_the_attached_warehouse_spills_beside_its_file_not_in_the_working_folder(
    tmp_path, monkeypatch
):
    cwd = tmp_path / "cwd"
    cwd.mkdir()
    monkeypatch.chdir(cwd)
    path = tmp_path / "w.duckdb"
    con = connect(path, timeout=30, row_group_size=16_384)
    try:
        con.execute("set memory_limit = '32MB'; set threads = 1")
        # a temporary table larger than the memory limit: DuckDB writes it to its temp folder
        con.execute(
            "create temp table big as select range as a, md5(cast(range as varchar)) as b "
            "from range(2000000)"
        )
        assert con.execute("select count(*) from big").fetchall() == [(2_000_000,)]
        assert list(cwd.iterdir()) == []
        assert any(Path(f"{path}.tmp").iterdir())
    finally:
        con.close()
