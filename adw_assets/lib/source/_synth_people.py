"""People, stores, customers and credit cards of the synthetic AdventureWorks.

Names come from faker pools of each territory country's locale (a person living in France has
a French name); everything else is drawn with numpy, column at a time.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from adw_assets.lib.source._synth_common import (
    LOCALES,
    as_text,
    digits,
    faker_for,
    join,
    pick,
    pool_pick,
    timestamps,
    uuids,
)

NAMES_PER_POOL = 300
IS_XMLNS = "http://schemas.microsoft.com/sqlserver/2004/07/adventure-works/IndividualSurvey"
SS_XMLNS = "http://schemas.microsoft.com/sqlserver/2004/07/adventure-works/StoreSurvey"
CARD_TYPES = ("Vista", "SuperiorCard", "Distinguish", "ColonialVoice")
CARD_PREFIX = ("1111", "3333", "5555", "7777")


@cache
def name_pools(seed: int) -> tuple[pa.Array, dict, pa.Array, dict]:
    """First names by (country, gender) and last names by country, with their spans."""
    first: list[str] = []
    first_spans: dict = {}
    last: list[str] = []
    last_spans: dict = {}
    for country, locale in LOCALES.items():
        fake = faker_for(locale, seed, "names")
        for gender, make in (("M", fake.first_name_male), ("F", fake.first_name_female)):
            names = sorted({make() for _ in range(NAMES_PER_POOL)})
            first_spans[f"{country}{gender}"] = (len(first), len(names))
            first.extend(names)
        names = sorted({fake.last_name() for _ in range(NAMES_PER_POOL * 2)})
        last_spans[country] = (len(last), len(names))
        last.extend(names)
    return pa.array(first), first_spans, pa.array(last), last_spans


def _choice(rng: np.random.Generator, options: list[str], n: int, p=None) -> pa.Array:
    return pick(options, rng.choice(len(options), size=n, p=p))


def _null_unless(mask: np.ndarray, values: pa.Array) -> pa.Array:
    return pc.if_else(pa.array(mask), values, pa.nulls(len(mask), values.type))


def _date_text(values: np.ndarray) -> pa.Array:
    return as_text(values.astype("datetime64[D]"))


def _xml_escape(values: pa.Array) -> pa.Array:
    """Character data as XML requires it ("Primary Bank & Reserve" -> "... &amp; ...")."""
    values = pc.cast(values, pa.string())
    for char, entity in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;")):
        values = pc.replace_substring(values, char, entity)
    return values


def _xml(root: str, xmlns: str, fields: list[tuple[str, pa.Array]]) -> pa.Array:
    parts: list = [f'<{root} xmlns="{xmlns}">']
    for tag, values in fields:
        parts += [f"<{tag}>", _xml_escape(values), f"</{tag}>"]
    return join(*parts, f"</{root}>")


# IndividualSurvey answers drawn at random: element, choices, relative weights.
SURVEY_CHOICES = {
    "MaritalStatus": ("M|S", (54, 46)),
    "YearlyIncome": (
        "0-25000|25001-50000|50001-75000|75001-100000|greater than 100000",
        (15, 30, 27, 15, 13),
    ),
    "Education": (
        "Partial High School|High School|Partial College|Bachelors|Graduate Degree",
        (8, 18, 27, 29, 18),
    ),
    "Occupation": ("Manual|Skilled Manual|Clerical|Management|Professional", (12, 25, 16, 17, 30)),
    "HomeOwnerFlag": ("1|0", (68, 32)),
    "CommuteDistance": ("0-1 Miles|1-2 Miles|2-5 Miles|5-10 Miles|10+ Miles", (35, 18, 17, 18, 12)),
}


def _survey_choice(rng: np.random.Generator, element: str, n: int) -> pa.Array:
    choices, weights = SURVEY_CHOICES[element]
    p = np.array(weights, dtype=np.float64)
    return _choice(rng, choices.split("|"), n, p / p.sum())


def _individual_survey(
    rng: np.random.Generator, gender: np.ndarray, first_purchase: np.ndarray, anchor
) -> pa.Array:
    n = len(gender)
    age_days = rng.integers(18 * 365, 80 * 365, size=n)
    birth = np.datetime64(anchor, "D") - age_days.astype("timedelta64[D]")
    children = rng.integers(0, 6, size=n)
    at_home = (children * rng.random(n)).astype(np.int64)
    zulu = lambda values: join(_date_text(values), "Z")  # noqa: E731
    fields = [
        ("TotalPurchaseYTD", pa.array(["0"] * n)),
        ("DateFirstPurchase", zulu(first_purchase)),
        ("BirthDate", zulu(birth)),
        ("MaritalStatus", _survey_choice(rng, "MaritalStatus", n)),
        ("YearlyIncome", _survey_choice(rng, "YearlyIncome", n)),
        ("Gender", pick(["M", "F"], (gender == "F").astype(np.int64))),
        ("TotalChildren", as_text(children)),
        ("NumberChildrenAtHome", as_text(at_home)),
        ("Education", _survey_choice(rng, "Education", n)),
        ("Occupation", _survey_choice(rng, "Occupation", n)),
        ("HomeOwnerFlag", _survey_choice(rng, "HomeOwnerFlag", n)),
        ("NumberCarsOwned", as_text(rng.integers(0, 5, size=n))),
        ("CommuteDistance", _survey_choice(rng, "CommuteDistance", n)),
    ]
    return _xml("IndividualSurvey", IS_XMLNS, fields)


def persons(
    rng: np.random.Generator,
    seed: int,
    ids: np.ndarray,
    persontype: np.ndarray,
    country: np.ndarray,
    created: np.ndarray,
    first_purchase: np.ndarray,
    anchor,
) -> pa.Table:
    """``person.person`` rows. Individual customers (``IN``) carry an IndividualSurvey."""
    n = len(ids)
    first, first_spans, last, last_spans = name_pools(seed)
    gender = np.where(rng.random(n) < 0.5, "M", "F")
    firstname = pool_pick(rng, first, first_spans, np.char.add(country, gender))
    lastname = pool_pick(rng, last, last_spans, country)
    initials = pick([chr(c) + "." for c in range(ord("A"), ord("Z") + 1)], rng.integers(0, 26, n))
    titled = rng.random(n) < 0.05
    title = pick(["Mr.", "Ms.", "Mrs."], np.where(gender == "M", 0, 1 + (rng.random(n) < 0.1)))
    suffix = _choice(rng, ["Jr.", "Sr.", "II", "III", "IV", "PhD"], n)
    individual = persontype == "IN"
    survey = _individual_survey(rng, gender, first_purchase, anchor)
    return pa.table(
        {
            "businessentityid": pa.array(ids),
            "persontype": pa.array(persontype, pa.string()),
            "namestyle": pa.array(np.zeros(n, dtype=bool)),
            "title": _null_unless(titled, title),
            "firstname": firstname,
            "middlename": _null_unless(rng.random(n) < 0.57, initials),
            "lastname": lastname,
            "suffix": _null_unless(rng.random(n) < 0.003, suffix),
            "emailpromotion": pa.array(rng.choice(3, size=n, p=[0.56, 0.25, 0.19])),
            "additionalcontactinfo": pa.nulls(n, pa.string()),
            "demographics": _null_unless(individual, survey),
            "rowguid": uuids(rng, n),
            "modifieddate": timestamps(created),
        }
    )


STORE_WORDS = tuple(
    words.split()
    for words in (
        "Next-Door Professional Riding Distance Bulk Leisure Basic Little Executive Reliable "
        "Quality Friendly Metro Valley Coastal Mountain Urban Central Pacific Northern Golden "
        "Summit Trail Pro Family Two-Wheel Downhill Speedy Classic Vintage",
        "Bike Cycle Sports Parts Wheels Bicycle Outdoor Gear Racing Touring Pedal Spoke Chain "
        "Frame Sprocket Cycling Ride Fitness Trek Saddle",
        "Store Shop Company Center Outlet Supply Warehouse Depot Emporium Works Mart Goods "
        "Distributors Sales Services",
    )
)
BANKS = "United Security|International Bank|Primary Bank & Reserve|Guardian Bank|Reserve Security"


def store_names(rng: np.random.Generator, n: int) -> pa.Array:
    a, b, c = (len(words) for words in STORE_WORDS)
    combos = a * b * c
    flat = rng.choice(combos, size=n, replace=n > combos)
    parts = [
        pick(list(STORE_WORDS[0]), flat // (b * c)),
        pick(list(STORE_WORDS[1]), (flat // c) % b),
        pick(list(STORE_WORDS[2]), flat % c),
    ]
    return join(*parts[:1], " ", parts[1], " ", parts[2])


def stores(
    rng: np.random.Generator, ids: np.ndarray, salespersons: np.ndarray, created: np.ndarray, anchor
) -> pa.Table:
    n = len(ids)
    sales = rng.choice([300_000, 800_000, 1_500_000, 3_000_000], size=n, p=[0.3, 0.35, 0.25, 0.1])
    year = np.datetime64(anchor, "Y").astype(int) + 1970
    choice = lambda options: _choice(rng, options.split("|"), n)  # noqa: E731
    survey = _xml(
        "StoreSurvey",
        SS_XMLNS,
        [
            ("AnnualSales", as_text(sales)),
            ("AnnualRevenue", as_text(sales // 10)),
            ("BankName", choice(BANKS)),
            ("BusinessType", _choice(rng, ["BM", "BS", "OS"], n, [0.5, 0.35, 0.15])),
            ("YearOpened", as_text(rng.integers(year - 50, year - 8, size=n))),
            ("Specialty", choice("Mountain|Road|Touring")),
            ("SquareFeet", as_text(rng.integers(6, 80, size=n) * 1000)),
            ("Brands", choice("1|2|3|4+")),
            ("Internet", choice("ISDN|DSL|T1|T2|T3|56kb")),
            ("NumberEmployees", as_text(rng.integers(2, 100, size=n))),
        ],
    )
    return pa.table(
        {
            "businessentityid": pa.array(ids),
            "name": store_names(rng, n),
            "salespersonid": pa.array(salespersons),
            "demographics": survey,
            "rowguid": uuids(rng, n),
            "modifieddate": timestamps(created),
        }
    )


def customers(
    rng: np.random.Generator,
    ids: np.ndarray,
    personid: np.ndarray,
    storeid: np.ndarray,
    territoryid: np.ndarray,
    created: np.ndarray,
) -> pa.Table:
    """``sales.customer`` rows; ``personid``/``storeid`` of 0 mean NULL."""
    return pa.table(
        {
            "customerid": pa.array(ids),
            "personid": pa.array(personid, mask=personid == 0),
            "storeid": pa.array(storeid, mask=storeid == 0),
            "territoryid": pa.array(territoryid),
            "rowguid": uuids(rng, len(ids)),
            "modifieddate": timestamps(created),
        }
    )


def creditcards(rng: np.random.Generator, ids: np.ndarray, created: np.ndarray) -> pa.Table:
    n = len(ids)
    kind = rng.integers(0, len(CARD_TYPES), size=n)
    year = created.astype("datetime64[Y]").astype(np.int64) + 1970
    return pa.table(
        {
            "creditcardid": pa.array(ids),
            "cardtype": pick(list(CARD_TYPES), kind),
            "cardnumber": join(pick(list(CARD_PREFIX), kind), digits(rng, n, 10)),
            "expmonth": pa.array(rng.integers(1, 13, size=n), pa.int16()),
            "expyear": pa.array(year + rng.integers(1, 5, size=n), pa.int16()),
            "modifieddate": timestamps(created),
        }
    )
