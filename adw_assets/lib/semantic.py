"""The dashboard's semantic model: marts, measures, dimensions and charts, defined once.

Every number on the dashboard is a *measure* (an aggregate over the columns of one mart) cut
by *dimensions* of that mart. Pages never write SQL: they ask :func:`compile_query` (through
the dashboard's data layer) for measures by dimensions, so a metric means the same thing on
every page. The relations are the marts of the dbt exposure ``dashboard`` (their columns are
declared in dbt, see ``adw_assets/lib/serving.py``); the ``live_events`` relation is the
deduplicated landing zone the live panel reads.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Measure:
    name: str
    label: str
    relation: str
    sql: str
    """An aggregate expression over the relation's columns."""
    fmt: str = "int"
    """How to show it: ``currency``, ``int``, ``float``, ``percent``, ``corr``."""
    help: str = ""


@dataclass(frozen=True)
class Dimension:
    name: str
    label: str
    relation: str
    sql: str


@dataclass(frozen=True)
class Chart:
    name: str
    title: str
    by: tuple[str, ...]
    measures: tuple[str, ...]


LIVE_EVENTS = "live_events"
"""In-memory relation of the live panel: landing-zone events deduplicated on event_id, with
columns event_id, event_at (timestamptz), session_id, country, device_type, order_value."""


def _m(name: str, label: str, rel: str, sql: str, fmt: str = "int", help: str = "") -> Measure:
    return Measure(name, label, rel, sql, fmt, help)


_P, _C, _S, _G = (
    "rpt_sales_by_product_category",
    "rpt_customer_acquisition",
    "rpt_order_status",
    "rpt_sales_by_geography",
)
_W, _D, _L = "rpt_web_traffic_by_country", "rpt_web_traffic_daily", LIVE_EVENTS
_R = "rpt_web_traffic_order_value_correlation"
_BACKLOG = "is_open"
"""The backlog is defined in the marts: dim_order_statuses.is_open (in process, approved,
backordered: not shipped yet and not closed)."""

MEASURES: dict[str, Measure] = {
    m.name: m
    for m in (
        # 1. products
        _m("revenue", "Revenue", _P, "round(sum(revenue), 2)", "currency",
           "Line revenue: order qty x unit price x (1 - discount)."),
        _m("units_sold", "Units sold", _P, "sum(units_sold)"),
        _m("product_orders", "Orders", _P, "sum(order_count)", "int",
           "Orders containing the subcategory (an order with several subcategories counts "
           "once in each)."),
        _m("avg_unit_price", "Revenue per unit", _P,
           "round(sum(revenue) / nullif(sum(units_sold), 0), 2)", "currency"),
        _m("subcategories", "Subcategories", _P, "count(*)"),
        # 2. customers
        _m("new_customers", "New customers", _C, "sum(new_customers)", "int",
           "Customers whose first order falls in the period."),
        _m("customer_revenue", "Revenue", _C, "round(sum(revenue), 2)", "currency"),
        _m("customer_orders", "Orders", _C, "sum(orders)"),
        _m("avg_order_value", "Avg order value", _C,
           "round(sum(revenue) / nullif(sum(orders), 0), 2)", "currency"),
        _m("avg_spend_per_customer", "Avg spend per customer", _C,
           "round(sum(revenue) / nullif(sum(active_customers), 0), 2)", "currency",
           "Revenue / active customers, a customer counting once per month with an order."),
        _m("active_customers", "Active customers", _C, "sum(active_customers)"),
        # at the mart's grain (one month), its own averages, exact as the mart computed them
        _m("month_avg_order_value", "Avg order value", _C, "round(max(avg_order_value), 2)",
           "currency", "Revenue / orders of the month (rpt_customer_acquisition)."),
        _m("month_avg_spend_per_customer", "Avg spend per customer", _C,
           "round(max(avg_spend_per_customer), 2)", "currency",
           "Revenue / active customers of the month (rpt_customer_acquisition)."),
        # 3. order status
        _m("status_orders", "Orders", _S, "sum(order_count)"),
        _m("online_orders", "Online", _S, "sum(online_order_count)"),
        _m("offline_orders", "Offline", _S, "sum(order_count - online_order_count)"),
        _m("status_total_due", "Total due", _S, "round(sum(total_due), 2)", "currency"),
        _m("online_share", "Online share", _S,
           "sum(online_order_count) / nullif(sum(order_count), 0)", "percent"),
        _m("backlog_orders", "Backlog", _S,
           f"coalesce(sum(order_count) filter (where {_BACKLOG}), 0)", "int",
           "Orders in process, approved or backordered: not shipped yet."),
        _m("backlog_total_due", "Backlog value", _S,
           f"coalesce(round(sum(total_due) filter (where {_BACKLOG}), 2), 0)", "currency"),
        # 4. geography
        _m("geo_orders", "Orders", _G, "sum(order_count)"),
        _m("geo_total_due", "Revenue (total due)", _G, "round(sum(total_due), 2)", "currency"),
        _m("geo_customers", "Customers", _G, "sum(customer_count)", "int",
           "Distinct customers per city, summed over cities."),
        _m("countries", "Countries", _G, "count(distinct country_name)"),
        _m("cities", "Cities", _G, "count(distinct (country_name, state_province_name, city))"),
        # 5. web traffic against order value
        _m("sessions", "Sessions", _W, "sum(sessions)"),
        _m("page_views", "Page views", _W, "sum(page_views)"),
        _m("web_orders", "Web orders", _W, "sum(web_orders)"),
        _m("web_order_value", "Web order value", _W, "round(sum(web_order_value), 2)", "currency"),
        _m("sales_total_due", "Sales order value", _W, "round(sum(sales_total_due), 2)",
           "currency", "Total due of sales orders shipped to the country (fct_orders)."),
        _m("sales_order_count", "Sales orders", _W, "sum(sales_order_count)"),
        _m("avg_duration_seconds", "Avg seconds per page", _W,
           "round(sum(avg_duration_seconds * page_views) / nullif(sum(page_views), 0), 1)",
           "float"),
        _m("traffic_value_corr", "Correlation (r)", _W, "corr(sessions, sales_total_due)", "corr",
           "Pearson correlation across countries between sessions and sales order value."),
        _m("web_value_corr", "Correlation (r)", _W, "corr(sessions, web_order_value)", "corr",
           "Pearson correlation across countries between sessions and web order value."),
        _m("daily_sessions", "Sessions", _D, "sum(sessions)"),
        _m("daily_page_views", "Page views", _D, "sum(page_views)"),
        _m("daily_web_orders", "Web orders", _D, "sum(web_orders)"),
        _m("days", "Days", _R, "sum(days)"),
        _m("sessions_corr_days", "r (sessions, over days)", _R,
           "round(avg(sessions_order_value_correlation), 2)", "corr",
           "Pearson correlation over days between daily sessions and web order value."),
        _m("page_views_corr_days", "r (page views, over days)", _R,
           "round(avg(page_views_order_value_correlation), 2)", "corr"),
        # live panel (landing zone, deduplicated)
        _m("live_events", "Events", _L, "count(*)"),
        _m("live_sessions", "Sessions", _L, "count(distinct session_id)"),
        _m("live_web_orders", "Web orders", _L, "count(*) filter (where order_value > 0)"),
        _m("live_order_value", "Web order value", _L, "coalesce(round(sum(order_value), 2), 0)",
           "currency"),
        _m("live_last_event_at", "Last event", _L, "max(event_at)", "time"),
    )
}  # fmt: skip

DIMENSIONS: dict[str, Dimension] = {
    d.name: d
    for d in (
        Dimension("category_name", "Category", _P, "category_name"),
        Dimension("subcategory_name", "Subcategory", _P, "subcategory_name"),
        Dimension("month_start", "Month", _C, "month_start"),
        Dimension("status_code", "Status code", _S, "status_code"),
        Dimension("status_name", "Status", _S, "status_name"),
        Dimension("is_backlog", "Not shipped yet", _S, _BACKLOG),
        Dimension("country_name", "Country", _G, "country_name"),
        Dimension("state_province_name", "State / province", _G, "state_province_name"),
        Dimension("city", "City", _G, "city"),
        Dimension("web_country", "Country", _W, "country_name"),
        Dimension("event_date", "Date", _D, "event_date"),
        Dimension("daily_country", "Country", _D, "country_name"),
        Dimension("corr_country", "Country", _R, "country_name"),
        Dimension("live_minute", "Minute", _L, "date_trunc('minute', event_at)"),
        Dimension("live_event_at", "Event time", _L, "event_at"),
        Dimension("live_country", "Country", _L, "country"),
        Dimension("live_device", "Device", _L, "device_type"),
    )
}

CHARTS: dict[str, Chart] = {
    c.name: c
    for c in (
        Chart("products_kpis", "Products", (), ("revenue", "units_sold", "avg_unit_price")),
        Chart(
            "revenue_by_subcategory",
            "Revenue by category and subcategory",
            ("category_name", "subcategory_name"),
            ("revenue", "units_sold", "product_orders", "avg_unit_price"),
        ),
        Chart("revenue_by_category", "Revenue by category", ("category_name",),
              ("revenue", "units_sold", "subcategories")),
        Chart("customers_kpis", "Customers", (),
              ("new_customers", "customer_revenue", "customer_orders", "avg_order_value",
               "avg_spend_per_customer")),
        Chart("customers_by_month", "New customers and average spend per month",
              ("month_start",),
              ("new_customers", "active_customers", "customer_orders", "customer_revenue",
               "month_avg_order_value", "month_avg_spend_per_customer")),
        Chart("orders_kpis", "Orders", (),
              ("status_orders", "status_total_due", "online_share", "backlog_orders",
               "backlog_total_due")),
        Chart("orders_by_status", "Orders by status", ("status_code", "status_name"),
              ("status_orders", "online_orders", "offline_orders", "status_total_due")),
        Chart("geo_kpis", "Geography", (),
              ("geo_total_due", "geo_orders", "countries", "cities")),
        Chart("geo_by_country", "By country", ("country_name",),
              ("geo_total_due", "geo_orders", "geo_customers")),
        Chart("geo_by_state", "By state / province", ("state_province_name",),
              ("geo_total_due", "geo_orders", "geo_customers")),
        Chart("geo_by_city", "By city", ("city",),
              ("geo_total_due", "geo_orders", "geo_customers")),
        Chart("geo_tree", "Country, state / province and city",
              ("country_name", "state_province_name", "city"), ("geo_total_due",)),
        Chart("web_kpis", "Web traffic", (),
              ("sessions", "page_views", "web_orders", "web_order_value", "sales_total_due",
               "traffic_value_corr", "web_value_corr")),
        Chart("web_by_country", "Web traffic against order value by country", ("web_country",),
              ("sessions", "page_views", "avg_duration_seconds", "web_orders", "web_order_value",
               "sales_order_count", "sales_total_due")),
        Chart("web_daily", "Sessions per day and country", ("event_date", "daily_country"),
              ("daily_sessions", "daily_page_views", "daily_web_orders")),
        Chart("web_corr_by_country", "Correlation over days, by country", ("corr_country",),
              ("days", "sessions_corr_days", "page_views_corr_days")),
        Chart("live_kpis", "Live", (),
              ("live_events", "live_sessions", "live_web_orders", "live_order_value",
               "live_last_event_at")),
        Chart("live_by_minute", "Events per minute", ("live_minute",),
              ("live_events", "live_sessions", "live_web_orders")),
    )
}  # fmt: skip

_OPS = ("=", "<>", ">=", "<=", ">", "<", "between", "in")


def relation_of(names: Iterable[str]) -> str:
    """The one relation (mart) the given measures and dimensions come from."""
    relations = set()
    for name in names:
        item = MEASURES.get(name) or DIMENSIONS.get(name)
        if item is None:
            raise KeyError(f"unknown measure or dimension {name!r}")
        relations.add(item.relation)
    if len(relations) != 1:
        raise ValueError(f"{sorted(names)} span several relations: {sorted(relations)}")
    return relations.pop()


def compile_query(
    measures: Sequence[str],
    by: Sequence[str] = (),
    where: Sequence[tuple[str, str, object]] = (),
    order_by: Sequence[str] | None = None,
    descending: bool = False,
    limit: int | None = None,
) -> tuple[str, list[object]]:
    """SQL (with ``?`` parameters) for ``measures`` grouped by the dimensions ``by``.

    ``where`` holds ``(dimension, op, value)`` triples; ``between`` takes a pair, ``in`` a
    sequence. Rows are ordered by ``order_by`` (default: the dimensions), ties by the
    dimensions, so that a limit keeps the same rows on every warehouse and every run.
    """
    relation = relation_of([*measures, *by, *(w[0] for w in where)])
    cols = [f"{DIMENSIONS[d].sql} as {d}" for d in by]
    for m in measures:
        expr = MEASURES[m].sql
        cols.append(
            f"cast({expr} as bigint) as {m}" if MEASURES[m].fmt == "int" else f"{expr} as {m}"
        )
    sql = f"select {', '.join(cols)} from {relation}"
    params: list[object] = []
    clauses = []
    for dim, op, value in where:
        if op not in _OPS:
            raise ValueError(f"unsupported operator {op!r}")
        expr = DIMENSIONS[dim].sql
        if op == "between":
            low, high = value  # type: ignore[misc]
            clauses.append(f"({expr}) between ? and ?")
            params += [low, high]
        elif op == "in":
            values = list(value)  # type: ignore[call-overload]
            marks = ", ".join(["?"] * len(values))
            clauses.append(f"({expr}) in ({marks})" if values else "false")
            params += values
        else:
            clauses.append(f"({expr}) {op} ?")
            params.append(value)
    if clauses:
        sql += " where " + " and ".join(clauses)
    if by:
        sql += " group by " + ", ".join(str(i + 1) for i in range(len(by)))
    order = list(order_by) if order_by is not None else list(by)
    if order:
        direction = " desc" if descending else ""
        terms = [f"{o}{direction} nulls last" for o in order]
        terms += [f"{d} nulls last" for d in by if d not in order]  # ties
        sql += " order by " + ", ".join(terms)
    if limit is not None:
        sql += f" limit {int(limit)}"
    return sql, params


def chart_query(
    chart: str, where: Sequence[tuple[str, str, object]] = (), **kwargs: object
) -> tuple[str, list[object]]:
    """:func:`compile_query` for a named chart of :data:`CHARTS`."""
    c = CHARTS[chart]
    return compile_query(c.measures, c.by, where, **kwargs)  # type: ignore[arg-type]


def format_value(value: object, fmt: str) -> str:
    """A measure's value as people read it: $1,234,567.89 / 1,234 / 12.3% / 0.87 / 1,234.5."""
    if value is None or isinstance(value, str):
        return "—" if value is None else value
    try:
        v = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return str(value)
    if math.isnan(v):
        return "—"
    if fmt == "currency":
        return f"-${-v:,.2f}" if v < 0 else f"${v:,.2f}"
    if fmt == "int":
        return f"{round(v):,}"
    if fmt == "percent":
        return f"{v:.1%}"
    if fmt == "corr":
        return f"{v:.2f}"
    return f"{v:,.1f}"
