"""What the dashboard should show, computed independently with SQL on the rpt_* marts dbt built
(the dashboard computes its numbers with MetricFlow's metrics on the snapshot instead)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import duckdb

VIEWS = {
    "products": "rpt_sales_by_product_category",
    "customers": "rpt_customer_acquisition",
    "statuses": "rpt_order_status",
    "geo": "rpt_sales_by_geography",
    "web": "rpt_web_traffic_by_country",
}


WHERE = {"customers": "where orders > 0", "statuses": "where order_count > 0"}
"""A month (or a status) without orders is a zero row of the mart and no row of the metrics."""


class Expected:
    """The marts of the warehouse ``warehouse``, copied into memory when built."""

    def __init__(self, warehouse: Path) -> None:
        self.con = duckdb.connect()
        path = str(warehouse).replace("'", "''")
        self.con.execute(f"attach '{path}' as wh (read_only)")
        for view, mart in VIEWS.items():
            self.con.execute(f"create table {view} as from wh.marts.{mart} {WHERE.get(view, '')}")
        self.con.execute("detach wh")

    def rows(self, sql: str) -> list[tuple]:
        return self.con.execute(sql).fetchall()

    def row(self, sql: str) -> tuple:
        return self.con.execute(sql).fetchone()

    def one(self, sql: str):
        return self.row(sql)[0]


def money(value: Decimal | float) -> str:
    """$1,234,567.89 (tables, small KPIs)."""
    return f"${value:,.2f}"


def compact_money(value: Decimal | float) -> str:
    """$109.85M, $512.33K (KPI cards); under $10,000 the exact amount."""
    v = float(value)
    for size, suffix in ((1e9, "B"), (1e6, "M"), (1e3, "K")):
        if abs(v) >= size and abs(v) >= 1e4:
            return f"${v / size:,.2f}{suffix}"
    return money(value)
