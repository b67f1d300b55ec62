"""The dashboard/snapshot asset, materialized by Dagster over a real DuckDB warehouse."""

from __future__ import annotations

import dagster as dg
import duckdb

from adw_assets.defs.dashboard.assets import MARTS_CHECK, SNAPSHOT_KEY, dashboard_snapshot
from adw_assets.lib.semantic import MARTS
from tests.dashboard.fixture_marts import build_marts


def _materialize():
    result = dg.materialize([dashboard_snapshot], raise_on_error=False)
    assert result.success
    (mat,) = result.asset_materializations_for_node(dashboard_snapshot.op.name)
    (check,) = result.get_asset_check_evaluations()
    return mat, check


def test_snapshot_asset_exports_the_marts(adw_home):
    adw_home.mkdir(parents=True, exist_ok=True)
    build_marts(adw_home / "warehouse.duckdb")
    mat, check = _materialize()
    assert mat.asset_key == SNAPSHOT_KEY
    rows = mat.metadata["rows"].value
    assert set(rows) == set(MARTS)
    with duckdb.connect(str(adw_home / "warehouse.duckdb"), read_only=True) as con:
        for mart, n in rows.items():
            assert con.execute(f"select count(*) from marts.{mart}").fetchone()[0] == n
            path = adw_home / "serving" / f"{mart}.parquet"
            assert con.execute(f"select count(*) from read_parquet('{path}')").fetchone()[0] == n
    assert check.check_name == MARTS_CHECK
    assert check.passed


def test_missing_mart_warns_through_the_check(adw_home):
    adw_home.mkdir(parents=True, exist_ok=True)
    build_marts(adw_home / "warehouse.duckdb")
    with duckdb.connect(str(adw_home / "warehouse.duckdb")) as con:
        con.execute("drop table marts.rpt_web_traffic_by_country")
    _, check = _materialize()
    assert not check.passed
    assert check.severity == dg.AssetCheckSeverity.WARN
    assert check.metadata["problems"].value == {"rpt_web_traffic_by_country": "missing"}


def test_lineage_from_the_marts():
    deps = {tuple(k.path) for k in dashboard_snapshot.asset_deps[SNAPSHOT_KEY]}
    assert deps == {tuple(m.asset_key) for m in MARTS.values()}
    assert dashboard_snapshot.group_names_by_key[SNAPSHOT_KEY] == "dashboard"
