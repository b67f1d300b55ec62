"""The dashboard's charts: which metrics of the semantic layer, by which dimensions, with which
labels and formats. Presentation only.

Every number is a *metric* of dbt's semantic layer (MetricFlow: the semantic models and
metrics in ``dbt/models/marts/*/_*__semantic_models.yml``), compiled by MetricFlow and run on
the dashboard's snapshot (``lib/serving.py``); nothing here is SQL. A :class:`Show` names the
metric to show under a column name of the chart, a :class:`Dimension` the MetricFlow group-by
item under a short column name. What is not a metric: :class:`Count` (how many rows a metric's
query returns, e.g. countries with an order), :class:`Correlation` (Pearson's r between two
metrics across the rows of a dimension, computed on the metrics' values) and
:class:`MartColumn` (a column of a mart read as is: the Pearson r over days of
``rpt_web_traffic_order_value_correlation``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

CENT = Decimal("0.01")


@dataclass(frozen=True)
class Dimension:
    name: str
    label: str
    group_by: str
    """The MetricFlow group-by item: ``<entity>__<dimension>`` or ``metric_time__<grain>``."""


@dataclass(frozen=True)
class Show:
    """A metric shown under the column ``name``."""

    name: str
    label: str
    metric: str
    fmt: str = "int"
    """How to show it: ``currency``, ``int``, ``float``, ``percent``, ``corr``."""
    help: str = ""
    roles: dict[str, str] = field(default_factory=dict)
    """Dimension name -> group-by item, where this metric is cut by another entity's
    dimension than the chart's (sales by ship-to country beside web traffic by visitor
    country)."""


@dataclass(frozen=True)
class Count:
    """How many rows ``metric`` has by the dimensions ``of`` (e.g. countries with an order)."""

    name: str
    label: str
    metric: str
    of: tuple[str, ...]
    fmt: str = "int"
    help: str = ""


@dataclass(frozen=True)
class Correlation:
    """Pearson's r between two shown metrics across the rows of the dimension ``over``."""

    name: str
    label: str
    x: str
    y: str
    over: str
    fmt: str = "corr"
    help: str = ""


@dataclass(frozen=True)
class MartColumn:
    """A column of a mart read as is (one row per value of the chart's dimension)."""

    name: str
    label: str
    mart: str
    column: str
    fmt: str = "corr"
    help: str = ""


Item = Show | Count | Correlation | MartColumn


@dataclass(frozen=True)
class Chart:
    name: str
    title: str
    by: tuple[str, ...]
    measures: tuple[str, ...]


_SHIP_TO_COUNTRY = {"web_country": "ship_to_address__country_name"}
_CORR_MART = "rpt_web_traffic_order_value_correlation"

MEASURES: dict[str, Item] = {
    m.name: m
    for m in (
        # 1. products
        Show("revenue", "Revenue", "revenue", "currency",
             "Line revenue: order qty x unit price x (1 - discount)."),
        Show("units_sold", "Units sold", "units_sold"),
        Show("product_orders", "Orders", "product_orders", "int",
             "Orders containing the subcategory (an order with several subcategories counts "
             "once in each)."),
        Show("avg_unit_price", "Revenue per unit", "avg_unit_price", "currency"),
        Count("subcategories", "Subcategories", "revenue", ("category_name", "subcategory_name")),
        # 2. customers
        Show("new_customers", "New customers", "new_customers", "int",
             "Customers whose first order falls in the period."),
        Show("customer_revenue", "Revenue", "revenue", "currency"),
        Show("customer_orders", "Orders", "orders"),
        Show("avg_order_value", "Avg order value", "avg_order_value", "currency"),
        Show("avg_spend_per_customer", "Avg spend per customer", "avg_spend_per_customer",
             "currency", "Revenue / active customers (distinct customers with an order in the "
             "period; per month on the month rows)."),
        Show("active_customers", "Active customers", "active_customers"),
        Show("month_avg_order_value", "Avg order value", "avg_order_value", "currency",
             "Revenue / orders of the month."),
        Show("month_avg_spend_per_customer", "Avg spend per customer", "avg_spend_per_customer",
             "currency", "Revenue / active customers of the month."),
        # 3. order status
        Show("status_orders", "Orders", "orders"),
        Show("online_orders", "Online", "online_orders"),
        Show("offline_orders", "Offline", "offline_orders"),
        Show("status_total_due", "Total due", "total_due", "currency"),
        Show("online_share", "Online share", "online_share", "percent"),
        Show("backlog_orders", "Backlog", "open_orders", "int",
             "Orders in process, approved or backordered: not shipped yet."),
        Show("backlog_total_due", "Backlog value", "open_total_due", "currency"),
        # 4. geography
        Show("geo_orders", "Orders", "orders"),
        Show("geo_total_due", "Revenue (total due)", "total_due", "currency"),
        Show("geo_customers", "Customers", "active_customers", "int",
             "Distinct customers with an order shipped there."),
        Count("countries", "Countries", "orders", ("country_name",)),
        Count("cities", "Cities", "orders", ("country_name", "state_province_name", "city")),
        # 5. web traffic against order value
        Show("sessions", "Sessions", "sessions"),
        Show("page_views", "Page views", "page_views"),
        Show("web_orders", "Web orders", "web_orders"),
        Show("web_order_value", "Web order value", "web_order_value", "currency"),
        Show("sales_total_due", "Sales order value", "total_due", "currency",
             "Total due of sales orders shipped to the country.", _SHIP_TO_COUNTRY),
        Show("sales_order_count", "Sales orders", "orders", "int", "", _SHIP_TO_COUNTRY),
        Show("avg_duration_seconds", "Avg seconds per page", "avg_duration_seconds", "float"),
        Correlation("traffic_value_corr", "Correlation (r)", "sessions", "sales_total_due",
                    "web_country", help="Pearson correlation across countries between "
                    "sessions and sales order value."),
        Correlation("web_value_corr", "Correlation (r)", "sessions", "web_order_value",
                    "web_country", help="Pearson correlation across countries between "
                    "sessions and web order value."),
        Show("daily_sessions", "Sessions", "sessions"),
        Show("daily_page_views", "Page views", "page_views"),
        Show("daily_web_orders", "Web orders", "web_orders"),
        Show("days", "Days", "days_with_traffic"),
        MartColumn("sessions_corr_days", "r (sessions, over days)", _CORR_MART,
                   "sessions_order_value_correlation", help="Pearson correlation over days "
                   "between daily sessions and web order value."),
        MartColumn("page_views_corr_days", "r (page views, over days)", _CORR_MART,
                   "page_views_order_value_correlation"),
    )
}  # fmt: skip

DIMENSIONS: dict[str, Dimension] = {
    d.name: d
    for d in (
        Dimension("category_name", "Category", "product__category_name"),
        Dimension("subcategory_name", "Subcategory", "product__subcategory_name"),
        Dimension("month_start", "Month", "metric_time__month"),
        Dimension("status_code", "Status code", "order_status__status_code"),
        Dimension("status_name", "Status", "order_status__status_name"),
        Dimension("is_backlog", "Not shipped yet", "order_status__is_open"),
        Dimension("country_name", "Country", "ship_to_address__country_name"),
        Dimension("country_code", "Country code", "ship_to_address__country_code"),
        Dimension("state_province_name", "State / province",
                  "ship_to_address__state_province_name"),
        Dimension("state_province_code", "State / province code",
                  "ship_to_address__state_province_code"),
        Dimension("city", "City", "ship_to_address__city"),
        Dimension("web_country", "Country", "web_event__country_name"),
        Dimension("event_date", "Date", "metric_time__day"),
        Dimension("daily_country", "Country", "web_event__country_name"),
        Dimension("corr_country", "Country", "web_event__country_name"),
    )
}  # fmt: skip
MART_KEYS = {"corr_country": "country_name"}
"""The column of a mart read as is (:class:`MartColumn`) that a dimension matches."""

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
        Chart("geo_map_countries", "Revenue by country", ("country_code", "country_name"),
              ("geo_total_due", "geo_orders")),
        Chart("geo_map_states", "Revenue by state / province",
              ("country_code", "state_province_code", "state_province_name"),
              ("geo_total_due", "geo_orders")),
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
    )
}  # fmt: skip

OPS = ("=", "<>", ">=", "<=", ">", "<", "between", "in")


def label(name: str) -> str:
    item = MEASURES.get(name) or DIMENSIONS.get(name)
    return item.label if item else name


def fmt_of(name: str) -> str | None:
    """The format of a measure, ``None`` for a dimension."""
    item = MEASURES.get(name)
    return item.fmt if item else None


def to_cent(value: object) -> Decimal:
    """A money value rounded to the cent as SQL's ``round(x, 2)`` rounds it: half away from zero
    (a float by its shortest repr: 1522.425 -> 1522.43, where ``f"{1522.425:.2f}"`` gives .42)."""
    return Decimal(str(value)).quantize(CENT, ROUND_HALF_UP)


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
        cents = abs(to_cent(value))
        return f"-${cents:,}" if v < 0 and cents else f"${cents:,}"
    if fmt == "int":
        return f"{round(v):,}"
    if fmt == "percent":
        return f"{v:.1%}"
    if fmt == "corr":
        return f"{v:.2f}"
    return f"{v:,.1f}"
