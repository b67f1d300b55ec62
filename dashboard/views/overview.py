"""Overview: the headline numbers of the five questions, each linked to its page."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from adw_assets.dashboard import ui

ui.header("AdventureWorks at a glance", "Sales, customers, orders, geography and web traffic")

cols = st.columns(5)
sections = (
    ("products_kpis", ("revenue", "units_sold"), "views/products.py", "Products"),
    ("customers_kpis", ("new_customers", "avg_order_value"), "views/customers.py", "Customers"),
    ("orders_kpis", ("status_orders", "backlog_orders"), "views/orders.py", "Order status"),
    ("geo_kpis", ("countries", "cities"), "views/geography.py", "Geography"),
    ("web_kpis", ("sessions", "traffic_value_corr"), "views/web.py", "Web traffic"),
)
for col, (chart, measures, page, title) in zip(cols, sections, strict=True):
    with col, st.container(border=True):
        st.subheader(title)
        with ui.guard(title):
            row = ui.chart(chart).iloc[0]
            for name in measures:
                m = ui.semantic.MEASURES[name]
                st.metric(m.label, ui.compact(row[name], m.fmt), help=ui.fmt(row[name], m.fmt))
        st.page_link(page, label=f"Open {title.lower()}", icon=":material/arrow_forward:")

left, right = st.columns(2)
with left, ui.guard("revenue by category"):
    df = ui.chart("revenue_by_category", order_by=["revenue"], descending=True)
    fig = px.bar(
        df,
        x="category_name",
        y="revenue",
        color="category_name",
        title="Revenue by category",
        color_discrete_map=ui.color_map(df["category_name"]),
        labels={"category_name": "Category", "revenue": "Revenue"},
    )
    fig.update_traces(hovertemplate="%{x}<br>$%{y:,.2f}<extra></extra>")
    fig.update_layout(showlegend=False, yaxis_tickprefix="$", yaxis_tickformat="~s")
    ui.plot(fig, key="overview_categories")
with right, ui.guard("new customers per month"):
    df = ui.chart("customers_by_month")
    fig = px.area(
        df,
        x="month_start",
        y="new_customers",
        title="New customers per month",
        labels={"month_start": "Month", "new_customers": "New customers"},
        color_discrete_sequence=[ui.ACCENT],
    )
    ui.plot(fig, key="overview_customers")
