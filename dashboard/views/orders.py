"""3. Order statuses: counts, total due, online vs offline, and the not-yet-shipped backlog."""

from __future__ import annotations

import plotly.graph_objects as go
import streamlit as st

from adw_assets.dashboard import ui

ui.header("Order status", "3 · Where are our orders, and what is not shipped yet?")

with ui.guard("the order figures"):
    total = ui.chart("orders_kpis").iloc[0]
    df = ui.chart("orders_by_status")
    ui.kpis(
        total,
        ("status_orders", "status_total_due", "online_share", "backlog_orders",
         "backlog_total_due"),
    )  # fmt: skip

    left, right = st.columns([3, 2])
    with left:
        fig = go.Figure()
        for name, color in (("online_orders", ui.ONLINE), ("offline_orders", ui.OFFLINE)):
            fig.add_bar(
                y=df["status_name"], x=df[name], name=ui.label(name), orientation="h",
                marker_color=color,
                hovertemplate="%{y}<br>%{x:,} orders<extra>" + ui.label(name) + "</extra>",
            )  # fmt: skip
        fig.add_scatter(
            y=df["status_name"], x=df["status_orders"], mode="text", showlegend=False,
            text=[f"  {n:,}" for n in df["status_orders"]], textposition="middle right",
            hoverinfo="skip",
        )  # fmt: skip
        fig.update_xaxes(range=[0, float(df["status_orders"].max()) * 1.15])
        fig.update_layout(
            barmode="stack", title="Orders by status, online vs offline",
            yaxis={"categoryorder": "array", "categoryarray": list(df["status_name"])[::-1]},
            xaxis_title="Orders",
        )  # fmt: skip
        ui.plot(fig, key="orders_status")
    with right:
        fig = go.Figure(
            go.Pie(
                labels=df["status_name"], values=df["status_total_due"], hole=0.55,
                marker={"colors": [ui.STATUS_COLORS.get(s, ui.ACCENT) for s in df["status_name"]]},
                hovertemplate="%{label}<br>$%{value:,.2f}<br>%{percent}<extra></extra>",
                sort=False,
            )
        )  # fmt: skip
        fig.update_traces(textposition="inside", textinfo="percent")
        fig.update_layout(title="Total due by status", uniformtext_minsize=11,
                          uniformtext_mode="hide")  # fmt: skip
        ui.plot(fig, key="orders_due", legend_below=True)

    st.subheader("Backlog: not shipped yet")
    backlog = ui.chart("orders_by_status", [("is_backlog", "=", True)])
    if backlog.empty or backlog["status_orders"].sum() == 0:
        st.success("No order is waiting: every order is shipped or closed.")
    else:
        st.caption("Orders in process, approved or backordered.")
        ui.table(
            backlog,
            {"status_name": "Status", "status_orders": "Orders", "online_orders": "Online",
             "offline_orders": "Offline", "status_total_due": "Total due"},
            {"status_orders": "int", "online_orders": "int", "offline_orders": "int",
             "status_total_due": "currency"},
        )  # fmt: skip

    st.subheader("All statuses")
    share = df["status_orders"] / max(1, df["status_orders"].sum())
    ui.table(
        df.assign(share=share),
        {"status_code": "Code", "status_name": "Status", "status_orders": "Orders",
         "share": "Share", "online_orders": "Online", "offline_orders": "Offline",
         "status_total_due": "Total due"},
        {"status_orders": "int", "share": "percent", "online_orders": "int",
         "offline_orders": "int", "status_total_due": "currency"},
    )  # fmt: skip
