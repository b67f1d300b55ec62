"""What the dashboard should show, computed independently with SQL on the snapshot files."""

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


class Expected:
    def __init__(self, serving: Path) -> None:
        self.con = duckdb.connect()
        for view, mart in VIEWS.items():
            path = str(serving / f"{mart}.parquet").replace("'", "''")
            self.con.execute(f"create view {view} as from read_parquet('{path}')")

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
