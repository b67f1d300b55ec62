"""The product catalogue: the real 4 categories and 37 subcategories, 504 synthetic products.

295 finished goods follow the real subcategory profiles (``data/product_profiles.csv``: how
many products, price range, colours, sizes, ...) and are named the AdventureWorks way
("Mountain-300 Black, 44", "HL Road Frame - Red, 58", "ML Touring Seat"); 209 are parts without
a subcategory, never sold. The catalogue does not grow with the scale.

Each product model is on sale from a start year to an optional end year of the order history
(offsets in years from its first day), drawn from the real per-category cohorts, so the
product mix changes over time as it did at AdventureWorks.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import count, product

import numpy as np
import pyarrow as pa

from adw_assets.lib.source._synth_common import (
    DAY,
    money,
    read_data,
    timestamps,
    uuids,
)


def _split(value: str) -> tuple[str, ...]:
    return tuple(v for v in value.split("|") if v)


NEVER = 99
"""End offset of a product still on sale."""

# Real (start, end) sell cohorts per category, with their number of products.
COHORTS = {
    1: {(0, 1): 18, (0, 2): 12, (1, 2): 7, (1, NEVER): 16, (2, NEVER): 44},
    2: {(0, 1): 9, (0, 2): 6, (0, NEVER): 19, (1, 2): 24, (1, NEVER): 15, (2, NEVER): 61},
    3: {(0, 1): 2, (0, NEVER): 5, (1, 2): 13, (1, NEVER): 3, (2, NEVER): 12},
    4: {(0, NEVER): 3, (1, 2): 7, (2, NEVER): 19},
}
STOCK = {1: (100, 75), 2: (500, 375), 3: (4, 3), 4: (4, 3)}
LINE_NAMES = {"M": "Mountain", "R": "Road", "T": "Touring", "S": "Sport"}
TIERS = ("LL", "ML", "HL")
SIZED_STYLES = _split(
    "Classic|Logo|Racing|Team|Women's|Men's|Long-Sleeve|Short-Sleeve|Half-Finger|Full-Finger|"
    "Pro|Thermal"
)
PLAIN_VARIANTS = ("Sport", "Classic", "Pro", "Mountain", "Road", "Touring", "Dual", "Compact")
VARIANTS = ("", "Front", "Rear", "Pro", "Elite")
PARTS = _split(
    "Adjustable Race|Bearing Ball|BB Ball Bearing|Headset Ball Bearings|Blade|Chainring Bolts|"
    "Chainring Nut|Chainring|Crown Race|Chain Stays|Decal|Down Tube|End Caps|Fork End|"
    "Freewheel|Flat Washer|Fork Crown|Front Derailleur Cage|Front Derailleur Linkage|"
    "Guide Pulley|Grip Tape|Thin-Jam Hex Nut|Hex Nut|Handlebar Tube|Head Tube|Hub|"
    "Keyed Washer|External Lock Washer|Internal Lock Washer|Lock Nut|Lock Ring|"
    "Lower Head Race|Metal Angle|Metal Bar|Metal Plate|Metal Sheet|Metal Tread Plate|Paint|"
    "Pinch Bolt|Cup-Shaped Race|Cone-Shaped Race|Reflector|Rear Derailleur Cage|Seat Stays|"
    "Seat Tube|Seat Lug|Seat Post|Spokes|Stem|Steerer|Tension Pulley|Top Tube|Rim|Hex Bolt|"
    "Lock Washer|Nipple|Axle"
)
N_PARTS = 209


@dataclass(frozen=True)
class Catalog:
    table: pa.Table
    productid: np.ndarray
    category: np.ndarray
    """productcategoryid, 0 for parts."""
    listprice: np.ndarray
    """int64 ten-thousandths."""
    start_offset: np.ndarray
    end_offset: np.ndarray
    popularity: np.ndarray


def _pad(value: str | None, width: int) -> str | None:
    return None if value is None else value.ljust(width)


def _models(prof: dict, rng: np.random.Generator) -> list[dict]:
    """One dict per product of a subcategory: name, colour, size, tier, line."""
    kind, item, want = prof["kind"], prof["item"], int(prof["products"])
    colors, sizes, lines = _split(prof["colors"]), _split(prof["sizes"]), _split(prof["lines"])
    out: list[dict] = []
    codes = iter(rng.permutation(np.arange(10, 100)))
    for m in count(1):
        if len(out) >= want:
            break
        code = int(next(codes))
        tier = TIERS[(m - 1) % 3]
        if kind in ("bike", "frame"):
            color = colors[int(rng.integers(len(colors)))]
            k = min(len(sizes), int(rng.integers(3, 6)))
            for size in sorted(rng.choice(sizes, size=k, replace=False), key=int):
                if kind == "bike":
                    number = m * (1000 if item == "Touring" else 100)
                    name = f"{item}-{number} {color}, {size}"
                else:
                    name = f"{tier} {item} Frame - {color}, {size}"
                pn = f"{prof['code']}-{item[0]}{code}{color[0]}-{size}"
                out.append(
                    dict(
                        name=name, pn=pn, color=color, size=size, tier=tier, line=lines[0], model=m
                    )
                )
        elif kind == "sized":
            style = SIZED_STYLES[(m - 1) % len(SIZED_STYLES)]
            color = colors[int(rng.integers(len(colors)))] if colors else None
            for size in sizes:
                out.append(
                    dict(
                        name=f"{style} {item}, {size}",
                        pn=f"{prof['code']}-{code:04d}-{size[0]}",
                        color=color,
                        size=size,
                        tier=None,
                        line=rng.choice(lines) if lines else None,
                        model=m,
                    )
                )
        else:
            out.extend(_plain_models(prof, rng, want - len(out)))
            break
    return out[:want]


def _plain_models(prof: dict, rng: np.random.Generator, want: int) -> list[dict]:
    item, kind = prof["item"], prof["kind"]
    colors, lines = _split(prof["colors"]), _split(prof["lines"])
    sizes = _split(prof["sizes"])
    if kind == "tiered":
        combos = product(VARIANTS, TIERS, [LINE_NAMES[x] for x in lines] or [""])
        names = [
            " ".join(w for w in (tier, line, variant, item) if w) for variant, tier, line in combos
        ]
    elif want <= 1:
        names = [item]
    elif len(colors) >= want:
        names = [f"{item}, {c}" for c in colors]
    else:
        names = [f"{v} {item}" for v in PLAIN_VARIANTS]
    out = []
    for m, name in enumerate(names[:want], start=1):
        tier = name.split(" ", 1)[0] if kind == "tiered" else None
        line = next((k for k, v in LINE_NAMES.items() if v in name.split()), None)
        if line is None and lines:
            line = lines[int(rng.integers(len(lines)))]
        color = colors[m % len(colors)] if colors else None
        out.append(
            dict(
                name=name,
                pn=None,
                color=color,
                size=sizes[0] if sizes else None,
                tier=tier,
                line=line,
                model=m,
            )
        )
    return out


def _price(rng: np.random.Generator, low: float, high: float, tier: str | None) -> int:
    if high <= low:
        cents = round(low * 100)
    else:
        share = (TIERS.index(tier) + rng.random()) / 3 if tier else rng.random()
        cents = round(low + share * (high - low)) * 100 - 1
        cents = max(cents, round(low * 100))
    return cents * 100


def catalog(rng: np.random.Generator, start: np.datetime64) -> Catalog:
    """The 504 products, their sell periods relative to ``start`` and their popularity."""
    subs = {
        int(r["productsubcategoryid"]): int(r["productcategoryid"])
        for r in read_data("productsubcategory.csv")
    }
    rows: list[dict] = []
    numbers = iter(rng.permutation(np.arange(1000, 10000)))
    for i in range(N_PARTS):
        part = PARTS[i % len(PARTS)]
        name = part if i < len(PARTS) else f"{part} {i // len(PARTS) + 1}"
        initials = "".join(w[0] for w in part.replace("-", " ").split())[:2].upper()
        stock = [(1000, 750), (800, 600), (500, 375)][int(rng.integers(3))]
        rows.append(
            dict(
                name=name,
                pn=f"{initials}-{next(numbers)}",
                make=rng.random() < 0.13,
                finished=False,
                color=None,
                size=None,
                sizeunit=None,
                weightunit=None,
                weight=None,
                days=int(rng.integers(0, 2)),
                line=None,
                klass=None,
                style=None,
                sub=None,
                cat=0,
                cost=0,
                price=0,
                stock=stock,
                cohort=(-3, NEVER),
                model=None,
                pop=0.0,
            )
        )
    model_ids = count(1)
    for prof in read_data("product_profiles.csv"):
        sub = int(prof["productsubcategoryid"])
        cat = subs[sub]
        cohorts = list(COHORTS[cat])
        weights = np.array(list(COHORTS[cat].values()), dtype=float)
        per_model: dict[int, tuple] = {}
        for p in _models(prof, rng):
            if p["model"] not in per_model:
                cohort = cohorts[rng.choice(len(cohorts), p=weights / weights.sum())]
                price = _price(rng, float(prof["min_price"]), float(prof["max_price"]), p["tier"])
                per_model[p["model"]] = (cohort, price, rng.lognormal(0, 1), next(model_ids))
            cohort, price, pop, model_id = per_model[p["model"]]
            ratio = float(prof["cost_ratio"]) * rng.uniform(0.97, 1.03)
            has_weight = bool(prof["weight_min"])
            weight = (
                rng.uniform(float(prof["weight_min"]), float(prof["weight_max"]))
                if has_weight
                else None
            )
            numeric_size = p["size"] is not None and p["size"].isdigit()
            classes, styles = _split(prof["classes"]), _split(prof["styles"])
            klass = (p["tier"][0] if p["tier"] else rng.choice(classes)) if classes else None
            rows.append(
                dict(
                    name=p["name"],
                    pn=p["pn"] or f"{prof['code']}-{next(numbers)}",
                    make=prof["make"] == "1",
                    finished=True,
                    color=p["color"],
                    size=p["size"],
                    sizeunit="CM" if numeric_size and cat in (1, 2) else None,
                    weightunit=prof["weight_unit"] or None,
                    weight=None if weight is None else round(weight, 2),
                    days=int(prof["days"]),
                    line=p["line"],
                    klass=klass,
                    style=rng.choice(styles) if styles else None,
                    sub=sub,
                    cat=cat,
                    cost=round(price * ratio),
                    price=price,
                    stock=STOCK[cat],
                    cohort=cohort,
                    model=model_id,
                    pop=pop,
                )
            )
    return _build(rng, rows, start)


def _build(rng: np.random.Generator, rows: list[dict], start: np.datetime64) -> Catalog:
    n = len(rows)
    start_off = np.array([r["cohort"][0] for r in rows])
    end_off = np.array([r["cohort"][1] for r in rows])
    category = np.array([r["cat"] for r in rows])
    _ensure_each_period_sells(category, start_off, end_off)
    sellstart = start + (start_off * 365).astype("timedelta64[D]")
    has_end = end_off != NEVER
    sellend = start + (np.where(has_end, end_off, 0) * 365).astype("timedelta64[D]") - DAY
    ids = np.arange(1, n + 1)
    col = lambda key: [r[key] for r in rows]  # noqa: E731
    table = pa.table(
        {
            "productid": pa.array(ids),
            "name": pa.array(col("name")),
            "productnumber": pa.array(col("pn")),
            "makeflag": pa.array(col("make"), pa.bool_()),
            "finishedgoodsflag": pa.array(col("finished"), pa.bool_()),
            "color": pa.array(col("color"), pa.string()),
            "safetystocklevel": pa.array([r["stock"][0] for r in rows], pa.int16()),
            "reorderpoint": pa.array([r["stock"][1] for r in rows], pa.int16()),
            "standardcost": money(np.array(col("cost"), dtype=np.int64)),
            "listprice": money(np.array(col("price"), dtype=np.int64)),
            "size": pa.array(col("size"), pa.string()),
            "sizeunitmeasurecode": pa.array([_pad(v, 3) for v in col("sizeunit")], pa.string()),
            "weightunitmeasurecode": pa.array([_pad(v, 3) for v in col("weightunit")], pa.string()),
            "weight": pa.array(col("weight"), pa.float64()),
            "daystomanufacture": pa.array(col("days"), pa.int32()),
            "productline": pa.array([_pad(v, 2) for v in col("line")], pa.string()),
            "class": pa.array([_pad(v, 2) for v in col("klass")], pa.string()),
            "style": pa.array([_pad(v, 2) for v in col("style")], pa.string()),
            "productsubcategoryid": pa.array(col("sub"), pa.int32()),
            "productmodelid": pa.array(col("model"), pa.int32()),
            "sellstartdate": timestamps(sellstart),
            "sellenddate": timestamps(sellend, mask=~has_end),
            "discontinueddate": pa.nulls(n, pa.timestamp("s")),
            "rowguid": uuids(rng, n),
            "modifieddate": timestamps(np.where(has_end, sellend, sellstart)),
        }
    )
    return Catalog(
        table=table,
        productid=ids,
        category=category,
        listprice=np.array(col("price"), dtype=np.int64),
        start_offset=start_off,
        end_offset=end_off,
        popularity=np.array(col("pop"), dtype=np.float64),
    )


def _ensure_each_period_sells(category: np.ndarray, start_off: np.ndarray, end_off: np.ndarray):
    """Every category has a product on sale in every year of the history (fixes rare draws)."""
    for cat in (1, 2, 3, 4):
        for period in (0, 1, 2):
            mine = category == cat
            if not np.any(mine & (start_off <= period) & (end_off > period)):
                first = np.flatnonzero(mine)[0]
                start_off[first], end_off[first] = 0, NEVER
