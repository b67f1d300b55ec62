"""2. New customers per month and average spend, over a selectable period."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from adw_assets.dashboard import ui

ui.header("Customers", "2 · How many new customers do we win, and how much do they spend?")

with ui.guard("the customer figures"):
    months = ui.chart("customers_by_month")
    if months.empty:
        st.info("The customer mart is empty: run `adw up` (or `adw build`) first.")
        st.stop()
    options = [d.date() if hasattr(d, "date") else d for d in months["month_start"]]
    start, end = st.select_slider(
        "Period",
        options=options,
        value=(options[max(0, len(options) - 24)], options[-1]),
        format_func=lambda d: f"{d:%b %Y}",
        key="customers_period",
    )
    where = [("month_start", "between", (start, end))]
    total = ui.chart("customers_kpis", where).iloc[0]
    df = ui.chart("customers_by_month", where)
    n = len(df)
    ui.kpis(
        total,
        ("new_customers", "customer_revenue", "customer_orders", "avg_order_value",
         "avg_spend_per_customer"),
        extra=[("Months", f"{n}", f"{start:%b %Y} – {end:%b %Y}")],
    )  # fmt: skip

    left, right = st.columns(2)
    with left:
        fig = go.Figure()
        fig.add_bar(
            x=df["month_start"], y=df["new_customers"], name="New customers",
            marker_color=ui.ACCENT,
            hovertemplate="%{x|%b %Y}<br>%{y:,} new customers<extra></extra>",
        )  # fmt: skip
        fig.add_scatter(
            x=df["month_start"], y=df["active_customers"], name="Active customers",
            mode="lines", line={"color": ui.PALETTE[1], "width": 2},
            hovertemplate="%{x|%b %Y}<br>%{y:,} active customers<extra></extra>",
        )  # fmt: skip
        fig.update_layout(title="New and active customers per month", yaxis_title="Customers")
        ui.plot(fig, key="customers_new")
    with right:
        fig = go.Figure()
        for name, color in (("month_avg_spend_per_customer", ui.PALETTE[2]),
                            ("month_avg_order_value", ui.PALETTE[3])):  # fmt: skip
            fig.add_scatter(
                x=df["month_start"], y=df[name], name=ui.label(name), mode="lines+markers",
                line={"color": color, "width": 2}, marker={"size": 5},
                hovertemplate="%{x|%b %Y}<br>$%{y:,.2f}<extra>" + ui.label(name) + "</extra>",
            )  # fmt: skip
        fig.update_layout(
            title="Average spend per customer and per order",
            yaxis_tickprefix="$", yaxis_tickformat=",.0f",
        )  # fmt: skip
        ui.plot(fig, key="customers_spend")

    st.subheader("Last 12 months of the period")
    columns = {
        "month": "Month",
        "new_customers": "New customers",
        "active_customers": "Active customers",
        "customer_orders": "Orders",
        "customer_revenue": "Revenue",
        "month_avg_order_value": "Avg order value",
        "month_avg_spend_per_customer": "Avg spend per customer",
    }
    formats = {
        "new_customers": "int",
        "active_customers": "int",
        "customer_orders": "int",
        "customer_revenue": "currency",
        "month_avg_order_value": "currency",
        "month_avg_spend_per_customer": "currency",
    }
    recent = df.sort_values("month_start", ascending=False).assign(
        month=lambda d: d["month_start"].map(lambda m: f"{m:%b %Y}")
    )
    ui.table(recent.head(12), columns, formats)
    with st.expander(f"All {n} months of the period"):
        ui.table(recent, columns, formats)
    st.caption(ui.semantic.MEASURES["avg_spend_per_customer"].help)
