"""Geography: the real country and state/province lists, and synthetic addresses.

Addresses are placed in the real AdventureWorks cities (``data/cities.csv``: city, state,
postal code, weighted by how many real addresses each has), so customers spread over the
six sales-territory countries as in the real data; the street lines come from faker.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from adw_assets.lib.source._synth_common import (
    LOCALES,
    as_text,
    data_bytes,
    faker_for,
    pick,
    pool_pick,
    read_data,
    timestamps,
    uuids,
    weighted,
)

STREETS_PER_LOCALE = 400


def static_table(name: str) -> pa.Table:
    """A package data CSV read as text columns (padding kept), ready to COPY as it is."""
    raw = data_bytes(name)
    header = raw.split(b"\n", 1)[0].decode().split(",")
    return pacsv.read_csv(
        io.BytesIO(raw),
        convert_options=pacsv.ConvertOptions(
            column_types=dict.fromkeys(header, pa.string()), strings_can_be_null=False
        ),
    )


@dataclass(frozen=True)
class Cities:
    """The real cities, with their state, country and sales territory."""

    city: pa.Array
    postalcode: pa.Array
    stateprovinceid: np.ndarray
    country: np.ndarray
    territoryid: np.ndarray
    weight: np.ndarray

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        return weighted(rng, self.weight, n)


@cache
def cities() -> Cities:
    states = {int(r["stateprovinceid"]): r for r in read_data("stateprovince.csv")}
    rows = read_data("cities.csv")
    ids = np.array([int(r["stateprovinceid"]) for r in rows])
    return Cities(
        city=pa.array([r["city"] for r in rows], pa.string()),
        postalcode=pa.array([r["postalcode"] for r in rows], pa.string()),
        stateprovinceid=ids,
        country=np.array([states[i]["countryregioncode"] for i in ids]),
        territoryid=np.array([int(states[i]["territoryid"]) for i in ids]),
        weight=np.array([int(r["addresses"]) for r in rows], dtype=np.float64),
    )


@cache
def street_pool(seed: int) -> tuple[pa.Array, dict[str, tuple[int, int]]]:
    """Street names of every territory country, and each country's (offset, size) in the pool."""
    names: list[str] = []
    spans: dict[str, tuple[int, int]] = {}
    for country, locale in LOCALES.items():
        fake = faker_for(locale, seed, "streets")
        streets = sorted({fake.street_name() for _ in range(STREETS_PER_LOCALE)})
        spans[country] = (len(names), len(streets))
        names.extend(streets)
    return pa.array(names, pa.string()), spans


def street_lines(
    rng: np.random.Generator, seed: int, countries: np.ndarray
) -> tuple[pa.Array, pa.Array]:
    """``addressline1`` (house number and street, in the country's order) and ``addressline2``."""
    n = len(countries)
    pool, spans = street_pool(seed)
    street = pool_pick(rng, pool, spans, countries)
    number = as_text(rng.integers(1, 9999, size=n))
    number_last = pa.array(np.isin(countries, ["DE"]))
    line1 = pc.if_else(
        number_last,
        pc.binary_join_element_wise(street, number, " "),
        pc.binary_join_element_wise(number, street, " "),
    )
    unit = as_text(rng.integers(1, 400, size=n))
    line2 = pc.binary_join_element_wise(pa.scalar("#"), unit, " ")
    line2 = pc.if_else(pa.array(rng.random(n) < 0.02), line2, pa.nulls(n, pa.string()))
    return line1, line2


def addresses(
    rng: np.random.Generator,
    seed: int,
    first_id: int,
    city_idx: np.ndarray,
    created: np.ndarray,
) -> pa.Table:
    """``person.address`` rows for the given cities, created (``modifieddate``) when given."""
    c = cities()
    n = len(city_idx)
    line1, line2 = street_lines(rng, seed, c.country[city_idx])
    return pa.table(
        {
            "addressid": pa.array(np.arange(first_id, first_id + n, dtype=np.int64)),
            "addressline1": line1,
            "addressline2": line2,
            "city": pick(c.city, city_idx),
            "stateprovinceid": pa.array(c.stateprovinceid[city_idx]),
            "postalcode": pick(c.postalcode, city_idx),
            "spatiallocation": pa.nulls(n, pa.string()),
            "rowguid": uuids(rng, n),
            "modifieddate": timestamps(created),
        }
    )
