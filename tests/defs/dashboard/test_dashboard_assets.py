"""The dashboard/snapshot asset, materialized by Dagster over a real DuckDB warehouse."""

from __future__ import annotations

import json
import shutil

import dagster as dg
import duckdb
import pytest

from adw_assets.defs.dashboard.assets import MARTS_CHECK, SNAPSHOT_KEY
from adw_assets.lib.dbt import ensure_manifest
from adw_assets.lib.serving import SNAPSHOT_DB, dashboard_marts
from tests.dashboard.conftest import build_warehouse
from tests.support.dagster import definitions, materialize


def _exposure_marts() -> set[str]:
    return {m.name for m in dashboard_marts(json.loads(ensure_manifest().read_text()))}


@pytest.fixture(scope="module")
def built(pg_cluster, tmp_path_factory):
    return build_warehouse(pg_cluster, tmp_path_factory.mktemp("snapshot-asset"))


def _materialize():
    result = materialize([SNAPSHOT_KEY])
    assert result.success
    (mat,) = result.get_asset_materialization_events()
    (check,) = result.get_asset_check_evaluations()
    return mat.materialization, check


def test_snapshot_asset_exports_the_marts_of_the_dashboard_exposure(adw_home, built):
    adw_home.mkdir(parents=True, exist_ok=True)
    shutil.copy(built, adw_home / "warehouse.duckdb")
    mat, check = _materialize()
    assert mat.asset_key == SNAPSHOT_KEY
    rows = mat.metadata["rows"].value
    assert set(rows) == _exposure_marts() and len(rows) == 9
    with duckdb.connect(str(adw_home / "warehouse.duckdb"), read_only=True) as con:
        con.execute(f"attach '{adw_home / 'serving' / SNAPSHOT_DB}' as snap (read_only)")
        for mart, n in rows.items():
            assert con.execute(f"select count(*) from marts.{mart}").fetchone()[0] == n
            assert con.execute(f"select count(*) from snap.marts.{mart}").fetchone()[0] == n
    assert check.check_name == MARTS_CHECK
    assert check.passed


def test_a_missing_mart_or_column_warns_through_the_check(adw_home, built):
    adw_home.mkdir(parents=True, exist_ok=True)
    shutil.copy(built, adw_home / "warehouse.duckdb")
    with duckdb.connect(str(adw_home / "warehouse.duckdb")) as con:
        con.execute("drop table marts.fct_web_events")
        con.execute("alter table marts.dim_order_statuses drop column is_open")
    _, check = _materialize()
    assert not check.passed
    assert check.severity == dg.AssetCheckSeverity.WARN
    problems = check.metadata["problems"].value
    assert set(problems) == {"fct_web_events", "dim_order_statuses"}
    assert problems["fct_web_events"].startswith("not built: run `adw events stream`")
    assert problems["dim_order_statuses"] == "lacks is_open"


def test_the_snapshot_depends_on_exactly_the_marts_it_exports():
    graph = definitions().resolve_asset_graph()
    node = graph.get(SNAPSHOT_KEY)
    assert {k.path[-1] for k in node.parent_keys} == _exposure_marts()
    assert all(k.path[0] == "marts" for k in node.parent_keys)
    assert node.group_name == "dashboard"
