"""The dashboard's charts: metrics of the semantic layer compiled by MetricFlow and run on the
snapshot equal the rpt_* marts dbt built (the same warehouse, a real build), filters are safe
literals, the compiled SQL is cached, and no measure SQL remains in the package."""

from __future__ import annotations

import ast
import math
import re
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

import adw_assets
from adw_assets.lib import charts, semantic
from adw_assets.lib.metrics import cents
from adw_assets.lib.paths import DASHBOARD_DIR
from adw_assets.lib.serving import Snapshot
from tests.dashboard.conftest import export

pytestmark = pytest.mark.slow


@pytest.fixture
def snap(warehouse, tmp_path) -> Snapshot:
    export(warehouse, tmp_path / "serving")
    s = Snapshot(tmp_path / "serving")
    s.refresh()
    return s


def _mart(warehouse: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        return con.execute(sql).fetchall()


def _c(value) -> Decimal | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return cents(value)


def test_every_chart_runs_on_the_snapshot(snap):
    for name, chart in semantic.CHARTS.items():
        df = charts.chart(snap, name)
        assert list(df.columns) == [*chart.by, *chart.measures], name
        assert len(df) >= 1, name


def test_products_equal_the_mart(warehouse, snap):
    mart = {
        (c, s): (revenue, units, orders)
        for c, s, revenue, units, orders in _mart(
            warehouse,
            "select category_name, subcategory_name, revenue, units_sold, order_count "
            "from marts.rpt_sales_by_product_category",
        )
    }
    df = charts.chart(snap, "revenue_by_subcategory")
    got = {
        (r.category_name, r.subcategory_name): (r.revenue, r.units_sold, r.product_orders)
        for r in df.itertuples()
    }
    assert set(got) == set(mart) and len(mart) > 5
    for key, (revenue, units, orders) in mart.items():
        assert _c(got[key][0]) == _c(revenue), key
        assert (got[key][1], got[key][2]) == (units, orders), key
    kpis = charts.chart(snap, "products_kpis").iloc[0]
    assert _c(kpis["revenue"]) == _c(sum(v[0] for v in mart.values()))
    by_cat = charts.chart(snap, "revenue_by_category")
    assert by_cat["subcategories"].sum() == len(mart)


def test_customers_orders_and_backlog_equal_the_marts(warehouse, snap):
    mart = {
        m: (new, active, orders, revenue)
        for m, new, active, orders, revenue in _mart(
            warehouse,
            "select month_start, new_customers, active_customers, orders, revenue "
            "from marts.rpt_customer_acquisition where orders > 0",
        )
    }
    df = charts.chart(snap, "customers_by_month")
    got = {r.month_start.date(): r for r in df.itertuples()}
    assert set(got) == set(mart) and len(mart) > 6
    for month, (new, active, orders, revenue) in mart.items():
        row = got[month]
        assert (row.new_customers, row.active_customers, row.customer_orders) == (
            new, active, orders), month  # fmt: skip
        assert _c(row.customer_revenue) == _c(revenue), month
    statuses = {
        code: (n, online, due, is_open)
        for code, n, online, due, is_open in _mart(
            warehouse,
            "select status_code, order_count, online_order_count, total_due, is_open "
            "from marts.rpt_order_status",
        )
    }
    by_status = charts.chart(snap, "orders_by_status")
    for r in by_status.itertuples():
        n, online, due, _ = statuses[r.status_code]
        assert (r.status_orders, r.online_orders, r.offline_orders) == (n, online, n - online)
        assert _c(r.status_total_due) == _c(due)
    kpis = charts.chart(snap, "orders_kpis").iloc[0]
    open_rows = [v for v in statuses.values() if v[3]]
    assert kpis["backlog_orders"] == sum(v[0] for v in open_rows)
    assert _c(kpis["backlog_total_due"]) == _c(sum((v[2] for v in open_rows), Decimal(0)))
    online = sum(v[1] for v in statuses.values())
    assert kpis["online_share"] == pytest.approx(online / sum(v[0] for v in statuses.values()))


def test_geography_and_drill_down_equal_the_mart(warehouse, snap):
    rows = _mart(
        warehouse,
        "select country_name, state_province_name, city, order_count, total_due, "
        "customer_count from marts.rpt_sales_by_geography",
    )
    tree = charts.chart(snap, "geo_tree")
    got = {
        (r.country_name, r.state_province_name, r.city): r.geo_total_due for r in tree.itertuples()
    }
    assert {k: _c(v) for k, v in got.items()} == {(c, s, t): _c(d) for c, s, t, _, d, _ in rows}
    kpis = charts.chart(snap, "geo_kpis").iloc[0]
    assert kpis["countries"] == len({r[0] for r in rows})
    assert kpis["cities"] == len(rows)
    assert kpis["geo_orders"] == sum(r[3] for r in rows)
    country = max({r[0] for r in rows}, key=lambda c: sum(r[4] for r in rows if r[0] == c))
    states = charts.chart(snap, "geo_by_state", [("country_name", "=", country)])
    expected = {}
    for c, s, _, _, due, _ in rows:
        if c == country:
            expected[s] = expected.get(s, Decimal(0)) + due
    assert {r.state_province_name: _c(r.geo_total_due) for r in states.itertuples()} == {
        s: _c(v) for s, v in expected.items()
    }
    cities = charts.chart(snap, "geo_by_city", [("country_name", "=", country)])
    customers = {t: n for c, _, t, _, _, n in rows if c == country}
    for r in cities.itertuples():  # one city per name here: distinct customers per city
        if sum(1 for c, _, t, *_ in rows if c == country and t == r.city) == 1:
            assert r.geo_customers == customers[r.city], r.city


def test_web_traffic_equals_the_marts_and_its_correlation(warehouse, snap):
    rows = _mart(
        warehouse,
        "select country_name, sessions, page_views, web_order_value, sales_total_due, "
        "sales_order_count from marts.rpt_web_traffic_by_country",
    )
    df = charts.chart(snap, "web_by_country")
    got = {r.web_country: r for r in df.itertuples()}
    assert set(got) == {r[0] for r in rows}
    for country, sessions, views, value, due, n in rows:
        row = got[country]
        assert (row.sessions, row.page_views, row.sales_order_count) == (sessions, views, n)
        assert _c(row.web_order_value) == _c(value) and _c(row.sales_total_due) == _c(due)
    kpis = charts.chart(snap, "web_kpis").iloc[0]
    [(r,)] = _mart(warehouse, "select corr(sessions, sales_total_due) from "
                   "marts.rpt_web_traffic_by_country")  # fmt: skip
    assert kpis["traffic_value_corr"] == pytest.approx(r)
    per_day = charts.chart(snap, "web_corr_by_country")
    mart = _mart(warehouse, "select country_name, days, sessions_order_value_correlation from "
                 "marts.rpt_web_traffic_order_value_correlation")  # fmt: skip
    got_days = {r.corr_country: (r.days, r.sessions_corr_days) for r in per_day.itertuples()}
    for country, days, corr in mart:
        assert got_days[country][0] == days
        assert _c(got_days[country][1]) == _c(corr)


def test_period_filter_and_literals_are_safe(snap):
    months = charts.chart(snap, "customers_by_month")
    start, end = months["month_start"].iloc[1].date(), months["month_start"].iloc[3].date()
    period = charts.chart(snap, "customers_by_month", [("month_start", "between", (start, end))])
    assert len(period) == 3
    kpis = charts.chart(snap, "customers_kpis", [("month_start", "between", (start, end))])
    assert kpis.iloc[0]["new_customers"] == period["new_customers"].sum()
    # a value is a literal, never SQL or Jinja: these match no country and break nothing
    for evil in ("x' or 1=1 --", "{{ Dimension('order__x') }}", "O'Brien {%raw%}"):
        df = charts.chart(snap, "geo_kpis", [("country_name", "=", evil)])
        assert df.iloc[0]["countries"] == 0
    assert charts.literal("a'b{c}") == "'a''b' || chr(123) || 'c' || chr(125) || ''"
    with pytest.raises(ValueError, match="operator"):
        charts.where_filters([("country_name", "; drop", "x")])


def test_compiled_sql_is_cached(snap):
    """A page asked for again compiles nothing (its time: bench/dashboard.py)."""

    def page() -> None:  # the geography page's queries
        charts.chart(snap, "geo_by_country", order_by=["geo_total_due"], descending=True)
        charts.chart(snap, "geo_kpis")
        charts.chart(snap, "geo_tree")

    page()
    compiled = dict(snap._sql)
    assert compiled  # the first load compiled the page's queries
    page()
    assert snap._sql == compiled  # nothing compiled again


AGGREGATE = re.compile(r"\b(sum|count|avg|min|max|corr)\(|\bgroup\s+by\b", re.I)


def test_no_measure_sql_remains_in_the_package():
    """semantic.py holds no SQL at all; outside the live panel (raw landing-zone events the
    semantic layer has not seen yet), no string in adw's dashboard code aggregates."""
    package = Path(adw_assets.__file__).parent
    for path in [package / "lib" / "semantic.py", package / "lib" / "charts.py",
                 package / "lib" / "answers.py", *Path(DASHBOARD_DIR).rglob("*.py")]:  # fmt: skip
        if path.name == "live.py":
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert not AGGREGATE.search(node.value), f"{path.name}: {node.value[:80]!r}"
