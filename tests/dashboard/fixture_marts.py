"""A test fixture: a DuckDB warehouse holding the marts of the dbt exposure ``dashboard`` with
small, deterministic, made-up figures in the columns the dashboard reads (every other column
the dbt models declare is there too, empty). Used besides the marts built by the real pipeline;
the end-to-end browser test runs on the real ones.
"""

from __future__ import annotations

import random
from datetime import date, timedelta
from pathlib import Path

import duckdb

CATEGORIES = {
    "Bikes": ["Mountain Bikes", "Road Bikes", "Touring Bikes"],
    "Components": ["Handlebars", "Wheels", "Forks", "Road Frames"],
    "Clothing": ["Jerseys", "Shorts", "Gloves"],
    "Accessories": ["Helmets", "Bottles and Cages", "Tires and Tubes"],
}
STATUSES = [(1, "In process"), (2, "Approved"), (3, "Backordered"), (4, "Rejected"),
            (5, "Shipped"), (6, "Cancelled")]  # fmt: skip
GEO = {
    "United States": {"Washington": ["Seattle", "Redmond", "Bellevue"], "California": ["Berkeley",
                      "San Francisco", "Los Angeles"], "Oregon": ["Portland"]},
    "Australia": {"New South Wales": ["Sydney", "Newcastle"], "Victoria": ["Melbourne"]},
    "United Kingdom": {"England": ["London", "Oxford", "York"]},
    "Germany": {"Hessen": ["Frankfurt"], "Bayern": ["München"]},
    "France": {"Seine (Paris)": ["Paris"], "Nord": ["Lille"]},
    "Canada": {"British Columbia": ["Vancouver", "Victoria"], "Ontario": ["Toronto"]},
}  # fmt: skip


def _money(rng: random.Random, low: float, high: float) -> str:
    return f"{rng.uniform(low, high):.4f}"


def build_marts(path: Path, seed: int = 7, scale: float = 1.0) -> None:
    """(Re)create schema ``marts`` with the six ``rpt_*`` tables in the DuckDB file ``path``."""
    rng = random.Random(seed)
    con = duckdb.connect(str(path))
    try:
        con.execute("create schema if not exists marts")
        con.execute(
            "create or replace table marts.rpt_sales_by_product_category (category_name varchar, "
            "subcategory_name varchar, order_count bigint, units_sold bigint, "
            "revenue decimal(38, 4))"
        )
        for cat, subs in CATEGORIES.items():
            price = {"Bikes": 1500, "Components": 300}.get(cat, 30)
            for sub in subs:
                units = int(rng.randint(200, 4000) * scale)
                con.execute(
                    "insert into marts.rpt_sales_by_product_category values (?, ?, ?, ?, ?)",
                    [
                        cat,
                        sub,
                        units // 2,
                        units,
                        _money(rng, 0.7 * units * price, 1.3 * units * price),
                    ],
                )
        con.execute(
            "create or replace table marts.rpt_customer_acquisition (month_start date, "
            "new_customers bigint, active_customers bigint, orders bigint, "
            "revenue decimal(38, 4), avg_order_value decimal(38, 4), "
            "avg_spend_per_customer decimal(38, 4))"
        )
        month = date(2022, 1, 1)
        for _ in range(36):
            new = int(rng.randint(50, 400) * scale)
            active = new + rng.randint(20, 300)
            orders = active + rng.randint(0, 200)
            revenue = round(orders * rng.uniform(400, 3000), 4)
            con.execute(
                "insert into marts.rpt_customer_acquisition values (?, ?, ?, ?, ?, "
                "cast(? as decimal(38,4)) / ?, cast(? as decimal(38,4)) / ?)",
                [month, new, active, orders, revenue, revenue, orders, revenue, active],
            )
            month = (month + timedelta(days=32)).replace(day=1)
        con.execute(
            "create or replace table marts.rpt_order_status (status_code integer, "
            "status_name varchar, order_count bigint, online_order_count bigint, "
            "total_due decimal(38, 4), is_open boolean)"
        )
        for code, name in STATUSES:
            n = int((30000 if code == 5 else rng.randint(10, 400)) * scale)
            con.execute(
                "insert into marts.rpt_order_status values (?, ?, ?, ?, ?, ?)",
                [
                    code,
                    name,
                    n,
                    int(n * rng.uniform(0.5, 0.95)),
                    _money(rng, 500 * n, 3000 * n),
                    code in (1, 2, 3),
                ],
            )
        con.execute(
            "create or replace table marts.rpt_sales_by_geography (country_name varchar, "
            "state_province_name varchar, city varchar, order_count bigint, "
            "customer_count bigint, total_due decimal(38, 4))"
        )
        for country, states in GEO.items():
            for state, cities in states.items():
                for city in cities:
                    n = int(rng.randint(20, 3000) * scale)
                    con.execute(
                        "insert into marts.rpt_sales_by_geography values (?, ?, ?, ?, ?, ?)",
                        [country, state, city, n, max(1, n // 3), _money(rng, 800 * n, 2500 * n)],
                    )
        con.execute(
            "create or replace table marts.rpt_web_traffic_by_country as "
            "select country_name, cast(sum(order_count) * 7 + ? as bigint) as sessions, "
            "cast(sum(order_count) * 31 as bigint) as page_views, "
            "cast(42.5 as double) as avg_duration_seconds, "
            "cast(sum(order_count) / 40 as bigint) as web_orders, "
            "cast(sum(total_due) / 55 as decimal(38, 4)) as web_order_value, "
            "sum(order_count) as sales_order_count, sum(total_due) as sales_total_due "
            "from marts.rpt_sales_by_geography group by all",
            [rng.randint(0, 500)],
        )
        con.execute(
            "create or replace table marts.rpt_web_traffic_daily as "
            "select cast(d as date) as event_date, country_name, "
            "cast(sessions / 30 + (hash(d, country_name) % 50) as bigint) as sessions, "
            "cast(page_views / 30 as bigint) as page_views, "
            "cast(web_orders / 30 as bigint) as web_orders, "
            "cast(web_order_value / 30 * (0.5 + (hash(d, country_name) % 50) / 50) "
            "as decimal(38, 4)) as web_order_value "
            "from marts.rpt_web_traffic_by_country, "
            "range(date '2026-01-01', date '2026-01-31', interval 1 day) as t(d)"
        )
        con.execute(
            "create or replace table marts.rpt_web_traffic_order_value_correlation as "
            "select country_name, count(*) as days, min(event_date) as first_event_date, "
            "max(event_date) as last_event_date, sum(sessions) as sessions, "
            "sum(page_views) as page_views, sum(web_order_value) as web_order_value, "
            "round(corr(sessions, web_order_value), 6) as sessions_order_value_correlation, "
            "round(corr(page_views, web_order_value), 6) as page_views_order_value_correlation "
            "from marts.rpt_web_traffic_daily group by 1"
        )
        _declared_columns(con)
    finally:
        con.close()


def _declared_columns(con: duckdb.DuckDBPyConnection) -> None:
    """Add, empty, the columns the dbt models declare that the figures above leave out."""
    import json

    from adw_assets.lib.dbt import ensure_manifest
    from adw_assets.lib.serving import dashboard_marts

    for mart in dashboard_marts(json.loads(ensure_manifest().read_text())):
        held = {r[0] for r in con.execute(f"describe marts.{mart.name}").fetchall()}
        for column in mart.columns:
            if column not in held:
                con.execute(f'alter table marts.{mart.name} add column "{column}" varchar')
