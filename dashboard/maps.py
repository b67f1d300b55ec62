"""Choropleth maps drawn offline: the geometry ships with adw (``geo/``, see its README for the
sources and licences) and goes inline into a Vega-Lite (Altair) chart, so the browser fetches
no tile, topojson or script from anywhere (Plotly's choropleths download their topojson from a
CDN: not used).

Countries are matched on their name (AdventureWorks' ``countryregion.name`` against Natural
Earth's, with the few that differ in :data:`WORLD_NAMES`); states and provinces on their name too,
in the countries of :data:`ADMIN1` (those whose states/provinces the data has), with the names
that differ in each country's ``names``.
"""

from __future__ import annotations

import functools
import json
import math
from dataclasses import dataclass, field
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


@dataclass(frozen=True)
class Admin1:
    """The states/provinces of one country: a shipped TopoJSON file, its object, the
    projection that draws it, and AdventureWorks' ``stateprovince.name`` -> the shape's
    ``properties.name`` where they differ."""

    file: str
    feature: str = "provinces"
    projection: dict = field(default_factory=lambda: {"type": "mercator"})
    names: dict[str, str] = field(default_factory=dict)
    height: int = 380


ADMIN1: dict[str, Admin1] = {
    "United States": Admin1(US_STATES, "states", {"type": "albersUsa"}, height=340),
    "Canada": Admin1(
        "admin1-canada.json",
        projection={"type": "conicEqualArea", "rotate": [96, 0], "parallels": [50, 70]},
        names={
            "Brunswick": "New Brunswick",
            "Quebec": "Québec",
            "Yukon Territory": "Yukon",
            "Newfoundland": "Newfoundland and Labrador",
            "Labrador": "Newfoundland and Labrador",
        },
    ),
    "Australia": Admin1("admin1-australia.json"),
    "Germany": Admin1("admin1-germany.json", names={"Saxony": "Sachsen"}, height=420),
    "France": Admin1(
        "admin1-france.json",
        height=420,
        names={
            "Alpes (Haute)": "Hautes-Alpes",
            "Alpes-de-Haute Provence": "Alpes-de-Haute-Provence",
            "Belford (Territoire de)": "Territoire de Belfort",
            "Bouches du Rhône": "Bouches-du-Rhône",
            "Côte d'Or": "Côte-d'Or",
            "Eure et Loir": "Eure-et-Loir",
            "Garonne (Haute)": "Haute-Garonne",
            "Hauts de Seine": "Hauts-de-Seine",
            "Ille et Vilaine": "Ille-et-Vilaine",
            "Indre et Loire": "Indre-et-Loire",
            "La Vendée": "Vendée",
            "Loir et Cher": "Loir-et-Cher",
            "Loire (Haute)": "Haute-Loire",
            "Loire Atlantique": "Loire-Atlantique",
            "Lot et Garonne": "Lot-et-Garonne",
            "Maine et Loire": "Maine-et-Loire",
            "Marne (Haute)": "Haute-Marne",
            "Meurthe et Moselle": "Meurthe-et-Moselle",
            "Pas de Calais": "Pas-de-Calais",
            "Puy de Dôme": "Puy-de-Dôme",
            "Pyrénées (Hautes)": "Hautes-Pyrénées",
            "Pyrénées Atlantiques": "Pyrénées-Atlantiques",
            "Pyrénées Orientales": "Pyrénées-Orientales",
            "Rhin (Bas)": "Bas-Rhin",
            "Rhin (Haut)": "Haut-Rhin",
            "Savoie Haute": "Haute-Savoie",
            "Saône (Haute)": "Haute-Saône",
            "Saône et Loire": "Saône-et-Loire",
            "Seine (Paris)": "Paris",
            "Seine Maritime": "Seine-Maritime",
            "Seine Saint Denis": "Seine-Saint-Denis",
            "Seine et Marne": "Seine-et-Marne",
            "Sèvres (Deux)": "Deux-Sèvres",
            "Tarne": "Tarn",
            "Tarne et Garonne": "Tarn-et-Garonne",
            "Toubs": "Doubs",
            "Val d'Oise": "Val-d'Oise",
            "Val de Marne": "Val-de-Marne",
            "Vienne (Haute)": "Haute-Vienne",
            "Yveline": "Yvelines",
        },
    ),
    "United Kingdom": Admin1("admin1-united-kingdom.json", height=420),
}
"""The countries whose states/provinces the map draws (AdventureWorks' ``countryregion.name``),
each with its geometry (``geo/README.md``)."""
UNMATCHED = {
    ("France", "France"): "a country-wide row of person.stateprovince, not a département",
}
"""(country, state/province) of AdventureWorks that knowingly match no shape, and why (no
address of the real data lies there). Guam and Puerto Rico match us-atlas shapes that the
albersUsa projection leaves out; no address lies there either."""


def admin1(country: str) -> Admin1 | None:
    """The states/provinces geometry of ``country``, or None where adw ships none."""
    natural_earth = {v: k for k, v in WORLD_NAMES.items()}
    return ADMIN1.get(country) or ADMIN1.get(natural_earth.get(country, ""))


@functools.cache
def topology(name: str) -> dict:
    return json.loads((GEO / name).read_text())


def _records(df: pd.DataFrame, key: str, names: dict[str, str], columns: list[str]) -> list[dict]:
    """One record per shape: ``df``'s rows renamed to the geometry's names; rows that name the
    same shape (Canada's "Labrador" and "Newfoundland") are added up, under both names."""
    out: dict[str, dict] = {}
    for _, row in df.iterrows():
        record = {"map_name": names.get(str(row[key]), str(row[key]))}
        for c in columns:
            value = row[c]
            if isinstance(value, int | float) or hasattr(value, "__float__"):
                value = float(value)
                value = None if math.isnan(value) else value
            record[c] = value if value is None or isinstance(value, float) else str(value)
        seen = out.get(record["map_name"])
        if seen is None:
            out[record["map_name"]] = record
            continue
        for c in columns:
            if isinstance(seen[c], float) and isinstance(record[c], float):
                seen[c] += record[c]
            elif seen[c] is None or isinstance(seen[c], str):
                seen[c] = " + ".join(str(v) for v in (seen[c], record[c]) if v is not None)
    return list(out.values())


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
    """``df[value]`` by ``df[key]`` on a map of ``scope``: ``world`` (``key`` names countries)
    or a country of :data:`ADMIN1` (``key`` names its states/provinces); places without a row
    are drawn grey."""
    if scope == "world":
        topo, feature, names = topology(WORLD), "countries", WORLD_NAMES
        projection, height = {"type": "equalEarth"}, 380
    else:
        geo = admin1(scope)
        if geo is None:
            raise ValueError(f"no state/province map of {scope!r}: one of {sorted(ADMIN1)}")
        topo, feature, names = topology(geo.file), geo.feature, geo.names
        projection, height = geo.projection, geo.height
    shapes = alt.InlineData(values=topo, format=alt.DataFormat(type="topojson", feature=feature))
    records = _records(df, key, names, [key, value])
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
    return alt.layer(background, data).project(**projection).properties(title=title, height=height)
