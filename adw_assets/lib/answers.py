"""Short answers to the five business questions, as `adw up` and `adw build` print them.

Each answer is a chart of ``lib/semantic.py``: metrics of the semantic layer compiled by
MetricFlow and run on the dashboard's snapshot (``lib/charts.py``), so a number printed here is
the number the dashboard shows: one definition of each metric, whatever prints it.
"""

from __future__ import annotations

from dataclasses import dataclass

from adw_assets.lib import charts, semantic
from adw_assets.lib.serving import Snapshot


@dataclass(frozen=True)
class Question:
    title: str
    chart: str
    columns: tuple[str, ...]
    """Dimensions and measures of the chart to show, in order."""
    order_by: tuple[str, ...] = ()
    descending: bool = False
    limit: int | None = None
    summary: str | None = None
    """A measure of the same relation printed after the rows (e.g. a correlation)."""


TOP = 5
MONTHS = 3

QUESTIONS = (
    Question("Top product categories by revenue", "revenue_by_category",
             ("category_name", "revenue", "units_sold"), ("revenue",), True, TOP),
    Question(f"New customers and average spend, last {MONTHS} months", "customers_by_month",
             ("month_start", "new_customers", "active_customers",
              "month_avg_spend_per_customer"), ("month_start",), True, MONTHS),
    Question("Orders by status, online and offline", "orders_by_status",
             ("status_name", "status_orders", "online_orders", "status_total_due")),
    Question(f"Top {TOP} ship-to countries by total due", "geo_by_country",
             ("country_name", "geo_orders", "geo_total_due"), ("geo_total_due",), True, TOP),
    Question(f"Web traffic and order value, top {TOP} countries by sessions", "web_by_country",
             ("web_country", "sessions", "page_views", "web_order_value", "sales_total_due"),
             ("sessions",), True, TOP, summary="traffic_value_corr"),
)  # fmt: skip


@dataclass
class Answer:
    title: str
    headers: tuple[str, ...]
    rows: list[tuple[str, ...]]
    note: str | None = None


def _cell(name: str, value: object) -> str:
    fmt = semantic.fmt_of(name)
    if fmt is None:  # a dimension
        return f"{value:%Y-%m}" if hasattr(value, "strftime") else str(value)
    return semantic.format_value(value, fmt)


def answers(snapshot: Snapshot) -> list[Answer]:
    """The five answers from the snapshot; raises ``SnapshotError`` (saying what to run) when a
    relation is missing."""
    out = []
    for q in QUESTIONS:
        frame = charts.chart(
            snapshot, q.chart, order_by=q.order_by or None, descending=q.descending, limit=q.limit
        )
        rows = [tuple(_cell(c, row[c]) for c in q.columns) for _, row in frame.iterrows()]
        if q.order_by == ("month_start",):
            rows.reverse()  # the latest months, oldest first
        note = None
        if q.summary:
            kpis = next(c for c in semantic.CHARTS.values() if q.summary in c.measures and not c.by)
            value = charts.chart(snapshot, kpis.name)[q.summary].iloc[0]
            measure = semantic.MEASURES[q.summary]
            note = f"{measure.help} {measure.label} = {_cell(q.summary, value)}"
        out.append(Answer(q.title, tuple(semantic.label(c) for c in q.columns), rows, note))
    return out
