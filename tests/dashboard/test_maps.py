"""The offline map's states and provinces: every state/province AdventureWorks has in a country
whose geometry adw ships (the seeded data and the real data) names a drawn shape, or is listed in
``maps.UNMATCHED`` with why; the shipped files stay small; rows are renamed and merged per
shape. The browser test (test_browser.py) shows a non-US country's provinces painted."""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd
import pytest

from adw_assets.dashboard import maps
from adw_assets.lib import source

DATA_DIR = Path(source.__file__).parent / "data"  # what `adw source seed` loads

ADMIN1_COUNTRIES = {"United States", "Canada", "Australia", "Germany", "France", "United Kingdom"}


def _shapes(country: str) -> set[str]:
    geo = maps.ADMIN1[country]
    geometries = maps.topology(geo.file)["objects"][geo.feature]["geometries"]
    return {g["properties"]["name"] for g in geometries}


def _states(stateprovince: Path, countryregion: Path) -> list[tuple[str, str]]:
    """(country name, state/province name) of every row of person.stateprovince."""
    with countryregion.open(encoding="utf-8") as f:
        countries = {r["countryregioncode"]: r["name"] for r in csv.DictReader(f)}
    with stateprovince.open(encoding="utf-8") as f:
        return [(countries[r["countryregioncode"]], r["name"]) for r in csv.DictReader(f)]


def _unmatched(states: list[tuple[str, str]]) -> set[tuple[str, str]]:
    missing = set()
    for country, name in states:
        geo = maps.admin1(country)
        if geo is not None and geo.names.get(name, name) not in _shapes(country):
            missing.add((country, name))
    return missing


def test_the_countries_with_states_in_the_data_have_a_map():
    states = _states(DATA_DIR / "stateprovince.csv", DATA_DIR / "countryregion.csv")
    with_several = {c for c in {c for c, _ in states} if sum(1 for x, _ in states if x == c) > 1}
    assert with_several <= set(maps.ADMIN1)
    assert set(maps.ADMIN1) == ADMIN1_COUNTRIES


def test_every_seeded_state_or_province_names_a_shape():
    states = _states(DATA_DIR / "stateprovince.csv", DATA_DIR / "countryregion.csv")
    assert sum(1 for c, _ in states if c in maps.ADMIN1) > 150
    assert _unmatched(states) == set(maps.UNMATCHED)


@pytest.mark.realdata
def test_every_real_state_or_province_names_a_shape(shared_adventureworks):
    d = shared_adventureworks
    states = _states(d / "person.stateprovince.csv", d / "person.countryregion.csv")
    assert _unmatched(states) == set(maps.UNMATCHED)
    # and no address of the real data lies in one of the knowingly unmatched
    with (d / "person.stateprovince.csv").open(encoding="utf-8") as f:
        ids = {
            r["stateprovinceid"]
            for r in csv.DictReader(f)
            if any(r["name"] == name for _, name in maps.UNMATCHED)
        }
    with (d / "person.address.csv").open(encoding="utf-8") as f:
        assert not [r["addressid"] for r in csv.DictReader(f) if r["stateprovinceid"] in ids]


def test_every_renaming_names_a_shape():
    for country, geo in maps.ADMIN1.items():
        assert set(geo.names.values()) <= _shapes(country), country


def test_the_shipped_geometry_is_small():
    for geo in maps.ADMIN1.values():
        size = (maps.GEO / geo.file).stat().st_size
        assert size < 120_000, (geo.file, size)
    admin1 = sum(p.stat().st_size for p in maps.GEO.glob("admin1-*.json"))
    assert admin1 < 150_000, admin1


def test_rows_are_renamed_and_merged_per_shape():
    df = pd.DataFrame(
        {
            "state_province_name": ["Seine (Paris)", "Nord"],
            "geo_total_due": [10.5, 2.0],
        }
    )
    spec = maps.choropleth(
        df, key="state_province_name", value="geo_total_due", value_label="Revenue",
        money=True, scope="France",
    ).to_dict()  # fmt: skip
    data = spec["layer"][1]["transform"][0]["from"]["data"]
    lookup = spec["datasets"][data["name"]]
    assert {r["map_name"]: r["geo_total_due"] for r in lookup} == {"Paris": 10.5, "Nord": 2.0}
    shapes = spec.get("data") or spec["layer"][0]["data"]
    assert shapes["format"] == {"type": "topojson", "feature": "provinces"}
    assert spec["projection"] == {"type": "mercator"}
    canada = pd.DataFrame(
        {"state_province_name": ["Labrador", "Newfoundland"], "geo_orders": [3, 4]}
    )
    records = maps._records(canada, "state_province_name", maps.ADMIN1["Canada"].names,
                            ["state_province_name", "geo_orders"])  # fmt: skip
    assert records == [
        {
            "map_name": "Newfoundland and Labrador",
            "state_province_name": "Labrador + Newfoundland",
            "geo_orders": 7.0,
        }
    ]


def test_a_country_without_states_is_refused_with_the_ones_there_are():
    df = pd.DataFrame({"state_province_name": ["x"], "geo_orders": [1]})
    with pytest.raises(ValueError, match=r"no state/province map of 'Japan'.*'Canada'"):
        maps.choropleth(df, key="state_province_name", value="geo_orders", value_label="Orders",
                        money=False, scope="Japan")  # fmt: skip
    assert maps.admin1("United States of America") is maps.ADMIN1["United States"]
    assert maps.admin1("Japan") is None
