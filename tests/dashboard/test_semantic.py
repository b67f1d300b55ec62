"""The semantic model: every chart compiles and runs on real DuckDB, and its measures give the
figures computed independently from the warehouse tables."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import duckdb
import pytest

from adw_assets.lib import semantic
from adw_assets.lib.serving import Snapshot
from tests.dashboard.conftest import export


@pytest.fixture
def snap(warehouse, tmp_path) -> Snapshot:
    export(warehouse, tmp_path / "serving")
    s = Snapshot(tmp_path / "serving")
    s.refresh()
    return s


def _cents(values) -> float:
    total = sum((Decimal(str(v)) for v in values), Decimal(0))
    return float(total.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def test_every_chart_runs_on_the_snapshot(snap):
    for name, chart in semantic.CHARTS.items():
        if semantic.relation_of([*chart.measures, *chart.by]) == semantic.LIVE_EVENTS:
            continue
        df = snap.query(*semantic.chart_query(name))
        assert list(df.columns) == [*chart.by, *chart.measures], name
        assert len(df) >= 1, name


def test_measures_equal_independent_sql(warehouse, snap):
    con = duckdb.connect(str(warehouse), read_only=True)
    revenues = [
        r[0]
        for r in con.execute("select revenue from marts.rpt_sales_by_product_category").fetchall()
    ]
    backlog = con.execute(
        "select sum(order_count), sum(total_due) from marts.rpt_order_status "
        "where status_code in (1, 2, 3)"
    ).fetchone()
    online = con.execute(
        "select sum(online_order_count), sum(order_count) from marts.rpt_order_status"
    ).fetchone()
    con.close()
    kpis = snap.query(*semantic.chart_query("products_kpis")).iloc[0]
    assert kpis["revenue"] == _cents(revenues)
    orders = snap.query(*semantic.chart_query("orders_kpis")).iloc[0]
    assert orders["backlog_orders"] == backlog[0]
    assert orders["backlog_total_due"] == _cents([backlog[1]])
    assert orders["online_share"] == pytest.approx(online[0] / online[1])
    assert orders["status_orders"] == online[1]


def test_drill_down_filters(warehouse, snap):
    con = duckdb.connect(str(warehouse), read_only=True)
    expected = con.execute(
        "select city, sum(order_count) from marts.rpt_sales_by_geography "
        "where country_name = 'United States' and state_province_name = 'California' "
        "group by 1 order by 2 desc"
    ).fetchall()
    con.close()
    where = [("country_name", "=", "United States"), ("state_province_name", "=", "California")]
    df = snap.query(*semantic.chart_query("geo_by_city", where, order_by=["geo_orders"],
                                          descending=True))  # fmt: skip
    assert list(zip(df["city"], df["geo_orders"], strict=True)) == expected


def test_period_between_and_in(snap):
    where = [("month_start", "between", (date(2023, 1, 1), date(2023, 12, 1)))]
    df = snap.query(*semantic.chart_query("customers_by_month", where))
    assert len(df) == 12
    assert df["month_start"].min().date() == date(2023, 1, 1)
    sql, params = semantic.compile_query(["status_orders"], ["status_name"],
                                         [("status_code", "in", [1, 5])])  # fmt: skip
    assert set(snap.query(sql, params)["status_name"]) == {"In process", "Shipped"}
    sql, params = semantic.compile_query(["status_orders"], ["status_name"],
                                         [("status_code", "in", [])])  # fmt: skip
    assert snap.query(sql, params).empty


def test_mixing_relations_and_unknown_names_are_refused():
    with pytest.raises(ValueError, match="several relations"):
        semantic.compile_query(["revenue"], ["country_name"])
    with pytest.raises(KeyError, match="nope"):
        semantic.compile_query(["nope"])
    with pytest.raises(ValueError, match="operator"):
        semantic.compile_query(["revenue"], (), [("category_name", "like", "B%")])


def test_every_measure_and_dimension_reads_a_mart_of_the_dashboard_exposure():
    import json

    from adw_assets.lib.dbt import ensure_manifest
    from adw_assets.lib.serving import dashboard_marts

    marts = dashboard_marts(json.loads(ensure_manifest().read_text()))
    relations = {m.name for m in marts} | {semantic.LIVE_EVENTS}
    for item in [*semantic.MEASURES.values(), *semantic.DIMENSIONS.values()]:
        assert item.relation in relations, item.name
    assert {m.dataset for m in marts} == {"marts"}


def test_ties_are_broken_by_the_dimensions_so_a_limit_keeps_the_same_rows():
    """The top countries by sessions, when some tie: the same countries whatever order the
    warehouse returns rows in (the answers printed on BigQuery and DuckDB differed before)."""
    sql, params = semantic.compile_query(
        ["sessions"], ["web_country"], order_by=["sessions"], descending=True, limit=2
    )
    rows = [("Canada", 5), ("Germany", 5), ("Australia", 5), ("France", 9)]
    tops = set()
    for ordered in (rows, rows[::-1], sorted(rows)):
        with duckdb.connect() as con:
            values = ", ".join(f"('{country}', {n})" for country, n in ordered)
            con.execute(
                f"create table {semantic.relation_of(['sessions'])} as "
                f"select * from (values {values}) t(country_name, sessions)"
            )
            tops.add(tuple(con.execute(sql, params).fetchall()))
    assert tops == {(("France", 9), ("Australia", 5))}
