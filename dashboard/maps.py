"""Choropleth maps drawn offline: the geometry ships with adw (``geo/``, see its README for the
sources and licences) and goes inline into a Vega-Lite (Altair) chart, so the browser fetches
no tile, topojson or script from anywhere (Plotly's choropleths download their topojson from a
CDN: not used).

Countries are matched on their name (AdventureWorks' ``countryregion.name`` against Natural
Earth's, with the few that differ in :data:`WORLD_NAMES`); US states on their name too.
"""

from __future__ import annotations

import functools
import json
import math
from pathlib import Path

import altair as alt
import pandas as pd

GEO = Path(__file__).parent / "geo"
WORLD = "world-countries-110m.json"
US_STATES = "us-states-10m.json"
WORLD_NAMES = {
    "United States": "United States of America",
    "Russian Federation": "Russia",
    "Korea": "South Korea",
    "Czech Republic": "Czechia",
    "Bosnia and Herzegovina": "Bosnia and Herz.",
    "Dominican Republic": "Dominican Rep.",
    "Central African Republic": "Central African Rep.",
    "Viet Nam": "Vietnam",
}
"""AdventureWorks country name -> Natural Earth's (``properties.name``), where they differ."""
US_NAMES = {"United States", "United States of America"}
"""The country whose states (us-atlas) the map draws."""


@functools.cache
def topology(name: str) -> dict:
    return json.loads((GEO / name).read_text())


def _records(df: pd.DataFrame, key: str, names: dict[str, str], columns: list[str]) -> list[dict]:
    out = []
    for _, row in df.iterrows():
        record = {"map_name": names.get(str(row[key]), str(row[key]))}
        for c in columns:
            value = row[c]
            if isinstance(value, int | float) or hasattr(value, "__float__"):
                value = float(value)
                value = None if math.isnan(value) else value
            record[c] = value if value is None or isinstance(value, float) else str(value)
        out.append(record)
    return out


def choropleth(
    df: pd.DataFrame,
    *,
    key: str,
    value: str,
    value_label: str,
    money: bool,
    scope: str = "world",
    title: str = "",
) -> alt.LayerChart:
    """``df[value]`` by ``df[key]`` (country or US state names) on a map of ``scope``
    (``world`` or ``us``); places without a row are drawn grey."""
    world = scope == "world"
    topo = topology(WORLD if world else US_STATES)
    feature = "countries" if world else "states"
    shapes = alt.InlineData(values=topo, format=alt.DataFormat(type="topojson", feature=feature))
    records = _records(df, key, WORLD_NAMES if world else {}, [key, value])
    fmt = "$,.2f" if money else ",.0f"
    background = alt.Chart(shapes).mark_geoshape(fill="#e6e6e6", stroke="white", strokeWidth=0.5)
    data = (
        alt.Chart(shapes)
        .transform_lookup(
            lookup="properties.name",
            from_=alt.LookupData(alt.InlineData(values=records), "map_name", [key, value]),
        )
        .transform_filter(f"isValid(datum['{value}'])")
        .mark_geoshape(stroke="white", strokeWidth=0.5)
        .encode(
            color=alt.Color(f"{value}:Q", title=value_label, scale=alt.Scale(scheme="blues")),
            tooltip=[
                alt.Tooltip(f"{key}:N", title="Place"),
                alt.Tooltip(f"{value}:Q", title=value_label, format=fmt),
            ],
        )
    )
    projection = "equalEarth" if world else "albersUsa"
    return (
        alt.layer(background, data)
        .project(projection)
        .properties(title=title, height=380 if world else 340)
    )
