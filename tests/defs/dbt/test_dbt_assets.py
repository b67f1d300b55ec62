"""Materializing the dbt assets through Dagster (``adw build``), on a real seeded source
replicated into DuckDB: materializations carry row counts and column schemas, dbt tests run as
asset checks, the run is recorded under ``$ADW_HOME/dagster``, failures reach the user."""

from __future__ import annotations

from datetime import date

import dagster as dg
import duckdb
import pytest

from adw_assets.cli import main
from adw_assets.cli.build import run_build
from adw_assets.cli.pipeline import print_answers
from adw_assets.lib.source.seed import seed_database
from adw_assets.settings import get_settings
from tests.dbt.dbt_chain import Chain, module_database, quiet, settings_for

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def chain(pg_cluster, tmp_path_factory) -> Chain:
    home = tmp_path_factory.mktemp("assets")
    with module_database(pg_cluster) as dsn:
        seed_database(dsn, scale=0.05, seed=3, today=date(2025, 6, 1), progress=quiet)
        chain = Chain(dsn, settings_for(home), home / "target")
        chain.replicate()
        yield chain


@pytest.fixture
def home(chain, monkeypatch):
    """Point adw at the module's warehouse (ADW_HOME) for this test."""
    monkeypatch.setenv("ADW_HOME", str(chain.settings.home))
    monkeypatch.setenv("DAGSTER_HOME", str(chain.settings.dagster_home))
    get_settings.cache_clear()
    return chain.settings.home


@pytest.fixture(scope="module")
def full_build(chain):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ADW_HOME", str(chain.settings.home))
        mp.setenv("DAGSTER_HOME", "")  # run_build sets it from ADW_HOME; restored after
        get_settings.cache_clear()
        summary = run_build(quiet=True)
    get_settings.cache_clear()
    return summary


def test_full_build_materializes_every_model_with_row_counts(chain, full_build, home):
    assert full_build.success, full_build.checks_failed
    for key in ("staging/stg_sales__orders", "marts/fct_sales", "marts/rpt_order_status"):
        assert key in full_build.materialized
    tables = {k: v for k, v in full_build.row_counts.items() if k.startswith("marts/")}
    assert len(tables) >= 12
    for key, rows in tables.items():
        schema, table = key.split("/")
        assert chain.duck(f"select count(*) from {schema}.{table}") == [(rows,)], key
    assert full_build.checks_passed > 100
    assert full_build.checks_failed == []


def test_run_is_recorded_with_column_schema_and_checks(chain, full_build, home):
    with dg.DagsterInstance.get() as instance:
        assert str(instance.root_directory) == str(home / "dagster")
        run = instance.get_run_by_id(full_build.run_id)
        assert run is not None and run.is_success
        event = instance.get_latest_materialization_event(dg.AssetKey(["marts", "fct_orders"]))
        metadata = event.asset_materialization.metadata
        columns = {c.name: c.type for c in metadata["dagster/column_schema"].schema.columns}
        assert columns["total_due"].lower() == "decimal(19,4)"
        assert (
            metadata["dagster/row_count"].value
            == chain.duck("select count(*) from marts.fct_orders")[0][0]
        )
        check = instance.event_log_storage.get_latest_asset_check_execution_by_key(
            [
                dg.AssetCheckKey(
                    dg.AssetKey(["marts", "fct_orders"]), "unique_fct_orders_sales_order_id"
                )
            ]
        )
        assert next(iter(check.values())).status.value == "SUCCEEDED"
    # dbt artifacts stay under ADW_HOME, with the partial parse kept for the next build
    runs = list((home / "dbt" / "runs").iterdir())
    assert runs and all((r / "run_results.json").exists() for r in runs)
    assert (home / "dbt" / "partial_parse.msgpack").exists()


def test_a_full_build_refreshes_the_snapshot_the_answers_read(chain, full_build, home, capsys):
    assert full_build.snapshot_marts == 9  # the relations of the exposure `dashboard`
    print_answers()
    out = capsys.readouterr().out
    [(top_category,)] = chain.duck(
        "select category_name from marts.rpt_sales_by_product_category "
        "group by 1 order by sum(revenue) desc limit 1"
    )
    [(top_country,)] = chain.duck(
        "select country_name from marts.rpt_sales_by_geography "
        "group by 1 order by sum(total_due) desc limit 1"
    )
    [(last_month, new)] = chain.duck(
        "select strftime(month_start, '%Y-%m'), new_customers "
        "from marts.rpt_customer_acquisition order by month_start desc limit 1"
    )
    sections = [s.strip("\n") for s in out.split("\n\n")]
    assert [s[:2] for s in sections] == ["1.", "2.", "3.", "4.", "5."]
    assert sections[0].splitlines()[3].split()[0] == top_category  # title, headers, rule, row
    assert sections[1].splitlines()[-1].split()[:2] == [last_month, f"{new:,}"]
    assert "Shipped" in sections[2] and "Cancelled" in sections[2]
    assert sections[3].splitlines()[3].split()[0] == top_country.split()[0]


def test_build_selection_materializes_only_the_selection(chain, full_build, home):
    summary = run_build("stg_sales__orders", quiet=True)
    assert summary.success
    assert summary.materialized == ["staging/stg_sales__orders"]
    assert summary.checks_passed >= 4 and summary.checks_failed == []


def test_failed_dbt_test_is_reported_by_adw_build(chain, full_build, home, capsys):
    table = "raw_sales.salesorderheader"
    with duckdb.connect(str(chain.duckdb_path)) as con:
        con.execute(f"create table dup as select * from {table} limit 1")
        con.execute(f"insert into {table} select * from dup")
    try:
        with pytest.raises(SystemExit) as exit_info:
            main(["build", "stg_sales__orders"])
        assert exit_info.value.code == 1
        captured = capsys.readouterr()
        assert "FAIL: staging/stg_sales__orders:unique_stg_sales__orders_sales_order_id" in (
            captured.out
        )
        assert "dbt build failed" in captured.err
        with dg.DagsterInstance.get() as instance:  # a failing test is not re-run by a retry
            run = instance.get_runs(limit=1)[0]
            assert [s.attempts for s in instance.get_run_step_stats(run.run_id)] == [1]
    finally:
        with duckdb.connect(str(chain.duckdb_path)) as con:
            key = con.execute("select salesorderid, _airbyte_raw_id from dup").fetchone()
            con.execute(f"delete from {table} where salesorderid = ? and _airbyte_raw_id = ?", key)
            con.execute(f"insert into {table} select * from dup")
            con.execute("drop table dup")


def test_build_of_an_unknown_selection_says_what_to_do(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["build", "no_such_model"])
    assert exit_info.value.code == 1
    assert "no dbt model or seed matches 'no_such_model'" in capsys.readouterr().err


def test_build_before_replication_says_to_replicate(adw_home, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["build", "stg_sales__orders"])
    assert exit_info.value.code == 1
    captured = capsys.readouterr()
    assert 'ERROR: model.adw.stg_sales__orders: Catalog Error: Table with name "raw_sales.' in (
        captured.out
    )
    assert "run `adw replicate` first" in captured.err
