"""Warm cycles through the `adw` command: after new rows in some replicated tables (or new web
events), `adw build` rebuilds only the dbt models downstream of them, with their tests (also
the tests between a rebuilt model and one left as it was); the models left out keep their last
materialization; and the warehouse then equals a full rebuild."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import dagster as dg
import psycopg
import pytest

from adw_assets.lib.source.seed import seed_database
from adw_assets.lib.source.simulate import simulate
from tests.cli.test_build_cli import adw, marts
from tests.dbt.dbt_chain import module_database, quiet
from tests.support.live_dagster import adw_env

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(pg_cluster, tmp_path_factory):
    home = tmp_path_factory.mktemp("warm-build")
    with module_database(pg_cluster) as dsn:
        seed_database(dsn, scale=0.05, seed=5, today=date(2025, 6, 1), progress=quiet)
        yield dsn, home, adw_env(home, dsn)


def last_run(home: Path) -> str:
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        return instance.get_run_records(limit=1)[0].dagster_run.run_id


def built(home: Path, run_id: str) -> set[str]:
    """Asset keys materialized by the run."""
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        records = instance.get_records_for_run(
            run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION
        ).records
        return {r.event_log_entry.dagster_event.asset_key.to_user_string() for r in records}


def last_materialized_by(home: Path, key: str) -> str:
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        event = instance.get_latest_materialization_event(dg.AssetKey.from_user_string(key))
        return event.run_id


def dbt_tests_ran(home: Path, run_id: str) -> set[str]:
    """Names of the dbt tests the run's dbt build ran."""
    (results,) = (home / "dbt" / "runs").glob(f"{run_id[:8]}-*/run_results.json")
    return {
        r["unique_id"].split(".")[2]
        for r in json.loads(results.read_text())["results"]
        if r["unique_id"].startswith("test.")
    }


def test_new_orders_rebuild_only_the_models_they_reach_and_equal_a_full_rebuild(project):
    dsn, home, env = project
    adw(env, "replicate")
    adw(env, "build", "--no-answers")
    first = last_run(home)
    assert "marts/dim_products" in built(home, first)

    # new orders (with their customers, addresses and cards), no updates
    simulate(dsn, orders=20, updates=0, seed=21, progress=quiet)
    adw(env, "replicate")
    said = adw(env, "build", "--no-answers").stderr
    (line,) = [line for line in said.splitlines() if "new data in " in line]
    moved = line.split("new data in ")[1].split(" since")[0].split(", ")
    assert "sales.salesorderheader" in moved and "production.product" not in moved, line
    warm = last_run(home)
    rebuilt = built(home, warm)
    for key in ("staging/stg_sales__orders", "marts/fct_orders", "marts/fct_sales",
                "marts/rpt_order_status", "dashboard/snapshot"):  # fmt: skip
        assert key in rebuilt, key
    # the relations of the dashboard snapshot are rebuilt together (Dagster skips the snapshot
    # when one of its parents in the run was not built): dims and facts of the exposure
    for key in ("marts/dim_products", "marts/fct_web_events"):
        assert key in rebuilt, key
    # not downstream of the orders nor a relation of the snapshot: left as they were, their
    # last materialization the first build's (none recorded for what was not rebuilt)
    for key in ("staging/stg_production__products", "staging/orderstatus"):
        assert key not in rebuilt, sorted(rebuilt)
        assert last_materialized_by(home, key) == first, key
    ran = dbt_tests_ran(home, warm)
    assert any(t.startswith("not_null_fct_orders_") for t in ran), sorted(ran)
    # a test between a rebuilt fact and a model left as it was still runs
    assert any(t.startswith("relationships_stg_sales__order_lines_product_id") for t in ran), (
        sorted(ran)
    )
    assert not any(
        t.startswith(("unique_stg_production__products", "not_null_stg_production__products"))
        for t in ran
    ), sorted(ran)

    after = marts(home)
    adw(env, "build", "--full-refresh", "--no-answers")
    assert marts(home) == after


def test_a_model_reading_two_sources_is_rebuilt_when_either_changed(project):
    dsn, home, env = project
    adw(env, "build", "--no-answers")  # after the last test's full rebuild: nothing new
    before = last_run(home)
    with psycopg.connect(dsn, autocommit=True) as conn:  # one address moves to another city
        conn.execute(
            "update person.address set city = city || ' Nord', modifieddate = now() "
            "where addressid = (select min(billtoaddressid) from sales.salesorderheader)"
        )
    adw(env, "replicate")
    adw(env, "events", "stream", "-n", "200", "--rate", "0", "--seed", "9", "-q")
    adw(env, "build", "--no-answers")
    warm = last_run(home)
    rebuilt = built(home, warm)
    # rpt_sales_by_geography reads the orders (unchanged) and the addresses (changed)
    for key in ("staging/stg_person__addresses", "marts/dim_addresses",
                "marts/rpt_sales_by_geography", "staging/stg_web__events",
                "marts/fct_web_events", "dashboard/snapshot"):  # fmt: skip
        assert key in rebuilt, key
    for key in ("staging/stg_sales__orders", "staging/stg_production__products"):
        assert key not in rebuilt, sorted(rebuilt)
        assert last_materialized_by(home, key) == before, key

    after = marts(home)
    adw(env, "build", "--full-refresh", "--no-answers")
    assert marts(home) == after
