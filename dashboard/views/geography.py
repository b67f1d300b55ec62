"""4. Where orders ship: countries, drilling down to state/province and city."""

from __future__ import annotations

import plotly.express as px
import streamlit as st

from adw_assets.dashboard import maps, ui

ui.header("Geography", "4 · Where do our orders ship to?")

ALL = "All"
with ui.guard("the geography figures"):
    countries = ui.chart("geo_by_country", order_by=["geo_total_due"], descending=True)
    c1, c2, c3 = st.columns([1, 1, 1])
    metric = c1.segmented_control(
        "Rank by", ["geo_total_due", "geo_orders", "geo_customers"], default="geo_total_due",
        format_func=ui.label, required=True, key="geo_metric",
    )  # fmt: skip
    country = c2.selectbox("Country", [ALL, *countries["country_name"]], key="geo_country")
    where: list[tuple[str, str, object]] = []
    state = ALL
    if country != ALL:
        where.append(("country_name", "=", country))
        states = ui.chart("geo_by_state", where, order_by=["geo_total_due"], descending=True)
        state = c3.selectbox(
            "State / province", [ALL, *states["state_province_name"]], key="geo_state"
        )
    else:
        c3.selectbox("State / province", [ALL], disabled=True, key="geo_state_off")
    if state != ALL:
        where.append(("state_province_name", "=", state))

    ui.kpis(ui.chart("geo_kpis", where).iloc[0], ("geo_total_due", "geo_orders", "countries",
                                                  "cities"))  # fmt: skip

    if country == ALL:
        level, dim, place = "geo_by_country", "country_name", "all countries"
    elif state == ALL:
        level, dim, place = "geo_by_state", "state_province_name", country
    else:
        level, dim, place = "geo_by_city", "city", f"{state}, {country}"
    df = ui.chart(level, where, order_by=[metric], descending=True)
    money = metric == "geo_total_due"

    # the map: countries, and the states/provinces of the countries whose geometry adw ships
    if country == ALL:
        shown, key, scope = countries, "country_name", "world"
    elif maps.admin1(country):
        shown = ui.chart("geo_by_state", [("country_name", "=", country)])
        key, scope = "state_province_name", country
    else:
        shown, key, scope = countries[countries["country_name"] == country], "country_name", "world"
    st.altair_chart(
        maps.choropleth(
            shown, key=key, value=metric, value_label=ui.label(metric), money=money,
            scope=scope, title=f"{ui.label(metric)} — {place}",
        ),
        use_container_width=True,
    )  # fmt: skip

    left, right = st.columns([3, 2])
    with left:
        top = df.head(20).iloc[::-1]
        fig = px.bar(
            top, x=metric, y=dim, orientation="h",
            title=f"{ui.label(metric)} — {ui.semantic.CHARTS[level].title.lower()}, {place}",
            labels={metric: ui.label(metric), dim: ""},
            color_discrete_sequence=[ui.ACCENT], text_auto=".3s" if money else ",",
        )  # fmt: skip
        fig.update_traces(
            hovertemplate="%{y}<br>" + ("$%{x:,.2f}" if money else "%{x:,}") + "<extra></extra>"
        )
        if money:
            fig.update_layout(xaxis_tickprefix="$", xaxis_tickformat="~s")
        fig.update_layout(height=max(320, 28 * len(top) + 120))
        ui.plot(fig, key="geo_ranked")
    with right:
        tree = ui.chart("geo_tree", where)
        below = ["country_name", "state_province_name", "city"][len(where) :]
        fig = px.treemap(
            tree[tree["geo_total_due"] > 0],
            path=[px.Constant(place), *below],
            values="geo_total_due", title="Revenue treemap (click to drill)",
            color_discrete_sequence=ui.PALETTE,
        )  # fmt: skip
        fig.update_traces(
            hovertemplate="<b>%{label}</b><br>$%{value:,.2f}<br>%{percentRoot:.1%} of "
            + place
            + "<extra></extra>",
            maxdepth=3,
        )
        ui.plot(fig, key="geo_treemap")

    st.subheader(f"{ui.semantic.CHARTS[level].title} — {place}")
    ui.table(
        df,
        {dim: ui.label(dim), "geo_total_due": "Revenue (total due)", "geo_orders": "Orders",
         "geo_customers": "Customers"},
        {"geo_total_due": "currency", "geo_orders": "int", "geo_customers": "int"},
    )  # fmt: skip
