"""``adw source ...`` from a shell: real subprocesses against the test's database or server."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import psycopg

from tests.lib.source import conftest as source_fixtures

exported_dir = source_fixtures.exported_dir  # a seed written out as CSV files (a fixture)

ADW = Path(sys.executable).parent / "adw"


def adw(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [str(ADW), "source", *args],
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    if check and result.returncode != 0:
        raise AssertionError(f"adw source {' '.join(args)} failed:\n{result.stderr}")
    return result


def _orders(dsn: str) -> int:
    with psycopg.connect(dsn) as conn:
        return conn.execute("select count(*) from sales.salesorderheader").fetchone()[0]


def test_seed_status_dsn_simulate_from_a_shell(source_db):
    seeded = adw("seed", "--scale", "0.01", "--seed", "3", "--today", "2025-06-01")
    assert "sales.salesorderheader" in seeded.stdout and "315" in seeded.stdout
    assert "rows/s" in seeded.stderr  # progress goes to stderr
    assert _orders(source_db) == 315

    again = adw("seed", "--scale", "0.01", check=False)
    assert again.returncode == 1
    assert "--replace" in again.stderr and "Traceback" not in again.stderr

    status = adw("status")
    assert "external (ADW_SOURCE_DSN), running" in status.stdout
    assert "sales.salesorderheader" in status.stdout

    assert adw("dsn").stdout.strip() == source_db

    simulated = adw("simulate", "--orders", "5", "--updates", "8", "--seed", "2")
    assert "orders_created" in simulated.stdout
    assert _orders(source_db) == 320


def test_load_reports_missing_files_without_a_traceback(source_db, tmp_path):
    result = adw("load", str(tmp_path), check=False)
    assert result.returncode == 1
    assert "missing person.countryregion.csv" in result.stderr
    assert "Traceback" not in result.stderr


def test_start_stop_embedded_server(adw_home):
    started = adw("start")
    try:
        assert f"data in {adw_home / 'postgres'}" in started.stdout
        dsn = started.stdout.strip().splitlines()[-1]
        with psycopg.connect(dsn) as conn:
            assert conn.execute("select count(*) from sales.customer").fetchone()[0] == 0
        status = adw("status")
        assert "embedded, running" in status.stdout
    finally:
        stopped = adw("stop")
    assert stopped.stdout.strip() == "stopped"
    assert adw("status", check=False).returncode == 3


def test_load_reports_invalid_utf8_in_a_data_row_with_its_line(source_db, exported_dir, tmp_path):
    folder = tmp_path / "csv"
    shutil.copytree(exported_dir[0], folder)
    path = folder / "person.person.csv"
    lines = path.read_bytes().split(b"\n")
    lines[4] = lines[4].replace(b",", b",\xe9", 1)  # line 5: a Latin-1 byte
    path.write_bytes(b"\n".join(lines))
    result = adw("load", str(folder), check=False)
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "person.person.csv: line 5" in errors[0], result.stderr
    assert "header" not in errors[0] and "unchanged" in errors[0]
