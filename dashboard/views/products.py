"""1. Revenue by product category and subcategory, with units and orders."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from adw_assets.dashboard import ui

ui.header("Products", "1 · Which categories and subcategories bring the revenue?")

with ui.guard("the product figures"):
    total = ui.chart("products_kpis").iloc[0]
    df = ui.chart("revenue_by_subcategory", order_by=["revenue"], descending=True)
    by_cat = ui.chart("revenue_by_category", order_by=["revenue"], descending=True)
    top = by_cat.iloc[0] if len(by_cat) else None
    ui.kpis(
        total,
        ("revenue", "units_sold", "avg_unit_price"),
        extra=[
            ("Subcategories", f"{len(df):,}", f"in {len(by_cat)} categories"),
            ("Top category", "—" if top is None else str(top["category_name"]),
             None if top is None else f"{ui.fmt(top['revenue'], 'currency')} revenue"),
        ],
    )  # fmt: skip

    metric = st.segmented_control(
        "Size by",
        ["revenue", "units_sold", "product_orders"],
        default="revenue",
        format_func=ui.label,
        required=True,
        key="products_metric",
    )
    colors = ui.color_map(by_cat["category_name"])
    fmt = "$%{value:,.2f}" if metric == "revenue" else "%{value:,}"
    left, right = st.columns([3, 2])
    with left:
        fig = px.treemap(
            df[df[metric] > 0], path=["category_name", "subcategory_name"], values=metric,
            color="category_name", color_discrete_map=colors,
            title=f"{ui.label(metric)} by category and subcategory",
        )  # fmt: skip
        fig.update_traces(
            texttemplate="<b>%{label}</b><br>" + fmt,
            hovertemplate="<b>%{label}</b><br>" + fmt + "<br>%{percentRoot:.1%} of total"
            "<extra></extra>",
        )
        ui.plot(fig, key="products_treemap")
    with right:
        ranked = df.head(15).iloc[::-1]
        fig = px.bar(
            ranked, x=metric, y="subcategory_name", color="category_name", orientation="h",
            color_discrete_map=colors, title=f"Top subcategories by {ui.label(metric).lower()}",
            labels={metric: ui.label(metric), "subcategory_name": "", "category_name": "Category"},
            custom_data=["category_name"],
        )  # fmt: skip
        fig.update_layout(yaxis={"categoryorder": "total ascending"})
        if metric == "revenue":
            fig.update_layout(xaxis_tickprefix="$", xaxis_tickformat="~s")
        ui.plot(fig, key="products_ranked")

    st.subheader("All subcategories")
    share = df["revenue"] / df["revenue"].sum() if df["revenue"].sum() else df["revenue"] * 0
    ui.table(
        df.assign(share=share),
        {
            "category_name": "Category",
            "subcategory_name": "Subcategory",
            "revenue": "Revenue",
            "share": "Share of revenue",
            "units_sold": "Units sold",
            "product_orders": "Orders",
            "avg_unit_price": "Revenue per unit",
        },
        {
            "revenue": "currency",
            "share": "percent",
            "units_sold": "int",
            "product_orders": "int",
            "avg_unit_price": "currency",
        },
    )
    st.caption(ui.semantic.MEASURES["product_orders"].help)
