"""``adw replicate``: through Dagster, progress on stderr, a summary table, exit codes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from adw_assets.cli import main
from adw_assets.lib.source.simulate import simulate
from tests.lib.replication import fixtures
from tests.lib.replication.fixtures import execute, mismatches

# the shared replication fixtures (tests/cli/conftest.py is not ours to extend)
replica_source = fixtures.replica_source
seeded_template = fixtures.seeded_template

ADW = Path(sys.executable).with_name("adw")


def adw(*args: str, capsys) -> tuple[int, str, str]:
    try:
        main(list(args))
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


def test_replicate_all_then_changes_then_a_full_refresh(replica_source, adw_home, capsys):
    code, out, err = adw("replicate", capsys=capsys)
    assert code == 0, err
    assert "[12/12]" in err and "rows/s" in err  # progress: streams done and rate
    assert "12 stream(s) replicated, 0 failed" in err
    lines = {line.split()[0]: line.split() for line in out.splitlines()[2:] if line.strip()}
    assert set(lines) == {f"raw_{s}" for s in (
        "person.countryregion", "person.stateprovince", "person.address", "person.person",
        "production.productcategory", "production.productsubcategory", "production.product",
        "sales.creditcard", "sales.store", "sales.customer", "sales.salesorderheader",
        "sales.salesorderdetail",
    )}  # fmt: skip
    wh = adw_home / "warehouse.duckdb"
    assert mismatches(replica_source, wh) == {}
    runs = list((adw_home / "dagster").iterdir())
    assert runs, "the run is recorded in $ADW_HOME/dagster"

    simulate(replica_source, orders=7, updates=10, seed=2, progress=lambda m: None)
    code, out, err = adw("replicate", "salesorderheader", "sales.salesorderdetail", capsys=capsys)
    assert code == 0, err
    header = next(line.split() for line in out.splitlines() if "salesorderheader" in line)
    assert header[1] == "7"  # inserted
    assert mismatches(replica_source, wh)["sales.customer"]  # not selected: not synced

    code, out, err = adw("replicate", "--full-refresh", "customer", capsys=capsys)
    assert code == 0, err
    row = next(line.split() for line in out.splitlines() if "raw_sales.customer" in line)
    assert row[-3] == "1"  # generation


def test_unknown_stream_exits_1_before_any_work(adw_home, capsys):
    code, _, err = adw("replicate", "sales.nope", capsys=capsys)
    assert code == 1 and "not a replicated stream" in err
    assert not (adw_home / "warehouse.duckdb").exists()


def test_a_failed_stream_exits_1_and_names_the_problem(replica_source, adw_home, capsys):
    assert adw("replicate", "creditcard", "store", capsys=capsys)[0] == 0
    execute(replica_source, "alter table sales.creditcard alter column expmonth type varchar(2)")
    code, out, err = adw("replicate", "creditcard", "store", capsys=capsys)
    assert code == 1
    assert "FAILED" in out and "raw_sales.store" in out
    assert "expmonth" in err and "--full-refresh sales.creditcard" in err


def test_an_unreachable_source_fails_at_once_and_says_why(adw_home, capsys, monkeypatch):
    """The engine retries the source (ADW_REPLICATION_RETRIES); the Dagster step is not retried
    on top of it, and the error is the engine's, on one line, the password masked."""
    import dagster as dg

    from adw_assets.settings import get_settings

    dsn = "postgresql://adw:pw-0f3c9a@127.0.0.1:9/absent"  # nothing listens on port 9
    for name in ("ADW_SOURCE_DSN", "ADW_REPLICATION_DSN"):
        monkeypatch.setenv(name, dsn)
    monkeypatch.setenv("ADW_REPLICATION_RETRIES", "0")
    get_settings.cache_clear()
    code, _, err = adw("replicate", "store", capsys=capsys)
    assert code == 1
    [line] = [x for x in err.splitlines() if x.startswith("error: ")]
    assert "cannot read the source catalog" in line and "ADW_REPLICATION_DSN" in line
    assert "pw-0f3c9a" not in err and "max_retries" not in err
    with dg.DagsterInstance.get() as instance:
        [run] = instance.get_runs()
        [step] = instance.get_run_step_stats(run.run_id)
        assert step.attempts == 1


@pytest.mark.slow
def test_the_installed_command_runs_end_to_end(replica_source, adw_home):
    proc = subprocess.run(
        [str(ADW), "replicate", "store"],
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "raw_sales.store" in proc.stdout and "[1/1] sales.store" in proc.stderr


@pytest.mark.slow  # waits out the job's real retry backoff (10 s, then 20 s)
def test_a_step_dagster_retried_fails_with_its_cause_not_only_the_retry_count(
    replica_source, adw_home, capsys
):
    """An error the step's retry policy retries (here the warehouse path is a folder, which
    DuckDB cannot open) fails after the retries with what went wrong; Dagster's own line said
    only "Exceeded max_retries of 2"."""
    (adw_home / "warehouse.duckdb").mkdir(parents=True)
    code, _out, err = adw("replicate", capsys=capsys)
    assert code == 1
    line = next(line for line in err.splitlines() if line.startswith("error: replication:"))
    assert "warehouse.duckdb" in line and "Is a directory" in line, line
    assert "exceeded max_retries of 2" in line
