"""5. Web traffic by country against order value, and the live panel of the event stream."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import plotly.express as px
import plotly.graph_objects as go
import streamlit as st

from adw_assets.dashboard import ui
from adw_assets.settings import get_settings

ui.header("Web traffic", "5 · Does web traffic by country go with order value? What happens now?")

LIVE_SECONDS = 5
WINDOWS = {"15 min": 15, "1 hour": 60, "24 hours": 1440}

st.subheader("Live: the event stream")
window = st.segmented_control(
    "Window", list(WINDOWS), default="15 min", required=True, key="live_window"
)


@st.fragment(run_every=LIVE_SECONDS)
def live_panel(window: str) -> None:
    minutes = WINDOWS[window]
    now = datetime.now(UTC)
    with ui.guard("the live events"):
        events = ui.live()
        since = now - timedelta(minutes=minutes)
        row = events.kpis(since)
        per_minute = float(events.kpis(now - timedelta(minutes=5))["live_events"]) / 5
        st.caption(f"In the last {window} (UTC clock), from the landing zone:")
        ui.kpis(
            row,
            ("live_events", "live_sessions", "live_web_orders", "live_order_value"),
            extra=[("Events / min (last 5 min)", f"{per_minute:,.1f}", None)],
        )
        df = events.by_minute(since)
        fig = go.Figure(
            go.Bar(
                x=df["live_minute"], y=df["live_events"], marker_color=ui.ACCENT,
                width=[50_000] * len(df),  # ms: one bar per minute, small gaps
                customdata=df[["live_sessions", "live_web_orders"]],
                hovertemplate="%{x|%H:%M} UTC<br>%{y:,} events<br>%{customdata[0]:,} sessions"
                "<br>%{customdata[1]:,} web orders<extra></extra>",
            )
        )  # fmt: skip
        fig.update_layout(
            title=f"Events per minute (UTC), last {window}",
            xaxis_type="date",
            xaxis_range=[now - timedelta(minutes=minutes), now + timedelta(minutes=1)],
            yaxis_title="Events", height=300,
        )  # fmt: skip
        ui.plot(fig, key="live_minutes")
        st.caption(
            f"Refreshes every {LIVE_SECONDS} s from the landing zone (deduplicated on event_id) "
            f"· last event {ui.fmt(row['live_last_event_at'], 'time')} "
            f"· updated {now:%H:%M:%S} UTC"
            + ("" if row["live_events"] else " · no event in this window: run "
               "`adw events stream` to watch it move")
        )  # fmt: skip


if get_settings().warehouse == "duckdb":
    live_panel(window)
else:
    st.info(
        "The live panel reads the local event landing zone; with BigQuery, `adw events stream` "
        f"streams into {get_settings().raw_prefix}web.events instead, and the dashboard never "
        "queries the warehouse (every refresh would bill a query). The web marts below are "
        "those of the last build's snapshot: run `adw build` to refresh them."
    )

st.divider()
st.subheader("Web traffic against order value, by country")
with ui.guard("the web-traffic marts"):
    total = ui.chart("web_kpis").iloc[0]
    df = ui.chart("web_by_country", order_by=["sessions"], descending=True)
    y = st.segmented_control(
        "Order value", ["sales_total_due", "web_order_value"], default="sales_total_due",
        format_func=ui.label, required=True, key="web_value",
    )  # fmt: skip
    corr = "traffic_value_corr" if y == "sales_total_due" else "web_value_corr"
    ui.kpis(total, ("sessions", "page_views", "web_orders", y, corr))

    left, right = st.columns([3, 2])
    with left:
        colors = ui.color_map(df["web_country"])
        fig = px.scatter(
            df, x="sessions", y=y, size="page_views", color="web_country", text="web_country",
            color_discrete_map=colors, size_max=40,
            labels={"sessions": "Sessions", y: ui.label(y), "web_country": "Country"},
            title=f"Sessions vs {ui.label(y).lower()} (r = {ui.fmt(total[corr], 'corr')})",
        )  # fmt: skip
        fig.update_traces(
            textposition="top center",
            textfont_size=11,
            hovertemplate="<b>%{text}</b><br>%{x:,} sessions<br>$%{y:,.2f}<extra></extra>",
        )
        if len(df) >= 2 and df["sessions"].nunique() > 1:
            slope, intercept = np.polyfit(df["sessions"].astype(float), df[y].astype(float), 1)
            xs = np.array([df["sessions"].min(), df["sessions"].max()], dtype=float)
            fig.add_scatter(
                x=xs, y=slope * xs + intercept, mode="lines", name="Linear fit",
                line={"color": "#555", "dash": "dot"}, hoverinfo="skip",
            )  # fmt: skip
        fig.update_layout(yaxis_tickprefix="$", yaxis_tickformat="~s", showlegend=False)
        ui.plot(fig, key="web_scatter")
    with right:
        daily = ui.chart("web_daily")
        few_days = daily["event_date"].nunique() < 4
        draw = px.bar if few_days else px.line
        fig = draw(
            daily, x="event_date", y="daily_sessions", color="daily_country",
            color_discrete_map=colors, title="Sessions per day",
            labels={"event_date": "", "daily_sessions": "Sessions", "daily_country": ""},
            **({"barmode": "group"} if few_days else {"markers": True}),
        )  # fmt: skip
        fig.update_xaxes(type="date", tickformat="%b %d")
        if few_days:
            fig.update_xaxes(dtick=86_400_000)
        ui.plot(fig, key="web_daily", legend_below=True)

    st.subheader("By country")
    per_day = ui.chart("web_corr_by_country").rename(columns={"corr_country": "web_country"})
    ui.table(
        df.merge(per_day, on="web_country", how="left"),
        {"web_country": "Country", "sessions": "Sessions", "page_views": "Page views",
         "avg_duration_seconds": "Avg s / page", "web_orders": "Web orders",
         "web_order_value": "Web order value", "sales_order_count": "Sales orders",
         "sales_total_due": "Sales order value", "days": "Days",
         "sessions_corr_days": "r over days"},
        {"sessions": "int", "page_views": "int", "avg_duration_seconds": "float",
         "web_orders": "int", "web_order_value": "currency", "sales_order_count": "int",
         "sales_total_due": "currency", "days": "int", "sessions_corr_days": "corr"},
    )  # fmt: skip
    st.caption(
        "r over days: Pearson correlation, per country, between daily sessions and daily web "
        "order value (rpt_web_traffic_order_value_correlation; empty under 3 days of traffic). "
        "The scatter's r is across countries."
    )
