"""Orders and order lines of the synthetic AdventureWorks.

Order dates follow a daily intensity with yearly growth, a summer high season and a Christmas
bump (resellers order on weekdays). Online orders (individual customers, list price, one unit
per line) and reseller orders (store contacts, 60% of list price, volume discounts, many lines)
follow the real line-count and quantity distributions. Money is exact: line totals are
``orderqty * unitprice * (1 - unitpricediscount)``, the subtotal is their sum rounded to 4
decimals (as in the real data), tax 8% and freight 2.5% of it, rounded likewise.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from adw_assets.lib.source._synth_common import (
    DAY,
    SECOND,
    as_text,
    digits,
    hex_upper,
    join,
    money,
    timestamps,
    uuids,
    weighted,
)
from adw_assets.lib.source._synth_products import Catalog

# Real number of orders with 1, 2, ... lines.
ONLINE_LINES = [9668, 8163, 5870, 3138, 696, 109, 12, 3]
_RESELLER_TEXT = (
    "588 289 251 214 144 123 119 103 92 73 69 44 56 53 53 49 51 45 49 88 63 60 48 56 46 52 52 "
    "43 38 48 36 35 42 29 43 44 26 25 26 35 27 29 33 22 23 38 14 30 22 23 18 17 19 10 7 15 13 "
    "9 8 4 5 3 0 1 6 3 2 1 0 0 2 2"
)
RESELLER_LINES = [int(n) for n in _RESELLER_TEXT.split()]
CATEGORY_MIX = {True: {1: 0.25, 3: 0.15, 4: 0.60}, False: {1: 0.41, 2: 0.31, 3: 0.20, 4: 0.08}}
# (specialofferid, discount in ten-thousandths) of reseller volume discounts by quantity.
VOLUME = [(11, 2, 200), (15, 3, 500), (25, 4, 1000), (41, 5, 1500)]
PROMOTIONS = [(7, 3500), (8, 1000), (9, 3000), (11, 1500), (13, 1500), (14, 2000), (16, 4000)]
SPAN_DAYS = 3 * 365 + 1
FIRST_ORDER_ID = 43659


def day_weights(start: np.datetime64, online: bool) -> np.ndarray:
    """Relative number of orders on each day of the history."""
    days = start + np.arange(SPAN_DAYS) * DAY
    years = np.arange(SPAN_DAYS) / 365.0
    doy = (days - days.astype("datetime64[Y]")).astype(np.int64)
    growth = (2.0 if online else 1.35) ** years
    season = 1 + 0.25 * np.cos(2 * np.pi * (doy - 165) / 365.25)
    month_day = (days - days.astype("datetime64[M]")).astype(np.int64)
    month = days.astype("datetime64[M]").astype(np.int64) % 12
    season += 0.35 * ((month == 11) & (month_day < 24) | (month == 10) & (month_day >= 24))
    weekday = (days.astype(np.int64) + 3) % 7  # 0 = Monday
    week = np.where(weekday >= 5, 1.1 if online else 0.1, 1.0)
    return growth * season * week


def order_times(rng: np.random.Generator, start: np.datetime64, n: int, online: bool):
    day = weighted(rng, day_weights(start, online), n)
    seconds = rng.integers(0, 86400, size=n)
    return start + day * DAY + seconds * SECOND


def assign(rng: np.random.Generator, n_orders: int, n_customers: int) -> np.ndarray:
    """Customer index of each order: everyone orders once, the rest go to the keenest."""
    if n_orders <= n_customers:
        return rng.choice(n_customers, size=n_orders, replace=False)
    out = np.empty(n_orders, dtype=np.int64)
    order = rng.permutation(n_orders)
    out[order[:n_customers]] = np.arange(n_customers)
    keen = rng.gamma(0.4, size=n_customers)
    out[order[n_customers:]] = weighted(rng, keen, n_orders - n_customers)
    return out


@dataclass
class Orders:
    """One batch of orders with what the header needs from the customer."""

    salesorderid: np.ndarray
    orderdate: np.ndarray
    online: np.ndarray
    customerid: np.ndarray
    territoryid: np.ndarray
    addressid: np.ndarray
    creditcardid: np.ndarray
    """0 = paid otherwise."""
    salespersonid: np.ndarray
    """0 = none (online)."""


class ProductPicker:
    """Draws products on sale at the order date, by channel, by category mix and popularity."""

    def __init__(self, cat: Catalog, start: np.datetime64):
        self.start = start
        self.cat = cat
        self.groups = {}
        for online, mix in CATEGORY_MIX.items():
            for period in (0, 1, 2):
                on_sale = (cat.start_offset <= period) & (cat.end_offset > period)
                p = np.zeros(len(cat.productid))
                for category, share in mix.items():
                    here = on_sale & (cat.category == category)
                    p[here] = share * cat.popularity[here] / cat.popularity[here].sum()
                idx = np.flatnonzero(p)
                self.groups[(online, period)] = (idx, np.cumsum(p[idx]) / p[idx].sum())

    def period(self, when: np.ndarray) -> np.ndarray:
        return np.clip((when - self.start) // (365 * DAY), 0, 2)

    def draw(self, rng: np.random.Generator, online: np.ndarray, period: np.ndarray) -> np.ndarray:
        out = np.empty(len(online), dtype=np.int64)
        for (flag, p), (idx, cdf) in self.groups.items():
            here = np.flatnonzero((online == flag) & (period == p))
            pos = np.searchsorted(cdf, rng.random(len(here)), side="right")
            out[here] = idx[np.minimum(pos, len(idx) - 1)]
        return out


def _lines(rng, picker: ProductPicker, o: Orders):
    """Per line: order position and product index, no product twice in an order."""
    n = len(o.salesorderid)
    count = np.where(
        o.online,
        weighted(rng, np.array(ONLINE_LINES), n) + 1,
        weighted(rng, np.array(RESELLER_LINES), n) + 1,
    )
    pos = np.repeat(np.arange(n), count)
    online, period = o.online[pos], picker.period(o.orderdate)[pos]
    product = picker.draw(rng, online, period)
    keep = np.zeros(len(pos), dtype=bool)
    for _ in range(8):
        keep[:] = False
        keep[np.unique(pos * 1024 + product, return_index=True)[1]] = True
        if keep.all():
            break
        again = np.flatnonzero(~keep)
        product[again] = picker.draw(rng, online[again], period[again])
    return pos[keep], product[keep]


def _statuses(rng, orderdate: np.ndarray, anchor: np.datetime64):
    """Status, ship date (NaT unless shipped) and last change of each order."""
    n = len(orderdate)
    ship = orderdate + np.where(rng.random(n) < 0.03, 8, 7) * DAY
    age = anchor - orderdate
    status = np.where(ship <= anchor - SECOND, 5, np.where(age < DAY, 1, 2))
    status[(status == 2) & (rng.random(n) < 0.15)] = 3
    fate = rng.random(n)
    status[fate < 0.006] = 4
    status[(fate >= 0.006) & (fate < 0.018)] = 6
    later = (
        orderdate + (rng.random(n) * np.where(status == 6, 5, 1) * 86400).astype(np.int64) * SECOND
    )
    changed = np.where(status == 5, ship, np.where(status == 1, orderdate, later))
    changed = np.minimum(changed, anchor - SECOND)
    shipdate = np.where(status == 5, ship, np.datetime64("NaT"))
    revision = np.select([status == 1, status == 3, status == 5, status == 6], [0, 2, 3, 2], 1)
    return status, shipdate, changed, revision


def order_batch(
    rng: np.random.Generator, picker: ProductPicker, o: Orders, first_line_id: int, anchor
) -> tuple[pa.Table, pa.Table]:
    """Header and detail rows of one batch of orders."""
    n = len(o.salesorderid)
    pos, product = _lines(rng, picker, o)
    m = len(pos)
    online = o.online[pos]
    qty = np.where(online, 1, 1 + np.minimum(rng.negative_binomial(1.3, 0.35, size=m), 43))
    listprice = picker.cat.listprice[product]
    price = np.where(online, listprice, (listprice * 6 + 5) // 10)
    offer = np.ones(m, dtype=np.int64)
    disc = np.zeros(m, dtype=np.int64)
    for low, offer_id, rate in VOLUME:
        here = ~online & (qty >= low)
        offer[here], disc[here] = offer_id, rate
    promo = ~online & (rng.random(m) < 0.015)
    which = rng.integers(0, len(PROMOTIONS), size=m)
    offer[promo] = np.array([p[0] for p in PROMOTIONS])[which[promo]]
    disc[promo] = np.array([p[1] for p in PROMOTIONS])[which[promo]]
    exact = qty * price * (10_000 - disc)  # line totals in 1e-8
    starts = np.flatnonzero(np.r_[True, pos[1:] != pos[:-1]])
    subtotal = (np.add.reduceat(exact, starts) + 5_000) // 10_000
    tax, freight = (subtotal * 8 + 50) // 100, (subtotal * 25 + 500) // 1000
    status, shipdate, changed, revision = _statuses(rng, o.orderdate, anchor)
    shipped = status == 5
    carrier = join(hex_upper(rng, n, 4), "-", hex_upper(rng, n, 4), "-", hex_upper(rng, n, 2))
    carrier = pc.if_else(pa.array(~o.online & shipped), carrier, pa.nulls(n, pa.string()))
    paid = o.creditcardid > 0
    header = pa.table(
        {
            "salesorderid": pa.array(o.salesorderid),
            "revisionnumber": pa.array(revision, pa.int16()),
            "orderdate": timestamps(o.orderdate),
            "duedate": timestamps(o.orderdate + 12 * DAY),
            "shipdate": timestamps(shipdate, mask=~shipped),
            "status": pa.array(status, pa.int16()),
            "onlineorderflag": pa.array(o.online),
            "purchaseordernumber": pc.if_else(
                pa.array(o.online), pa.nulls(n, pa.string()), join("PO", digits(rng, n, 11))
            ),
            "accountnumber": join(
                pc.if_else(pa.array(o.online), "10-4030-", "10-4020-"),
                pc.utf8_lpad(as_text(o.customerid), 6, "0"),
            ),
            "customerid": pa.array(o.customerid),
            "salespersonid": pa.array(o.salespersonid, mask=o.salespersonid == 0),
            "territoryid": pa.array(o.territoryid),
            "billtoaddressid": pa.array(o.addressid),
            "shiptoaddressid": pa.array(o.addressid),
            "shipmethodid": pa.array(np.where(o.online, 1, 5)),
            "creditcardid": pa.array(o.creditcardid, mask=~paid),
            "creditcardapprovalcode": pc.if_else(
                pa.array(paid),
                join(digits(rng, n, 6), "Vi", digits(rng, n, 5)),
                pa.nulls(n, pa.string()),
            ),
            "currencyrateid": pa.nulls(n, pa.int32()),
            "subtotal": money(subtotal),
            "taxamt": money(tax),
            "freight": money(freight),
            "totaldue": money(subtotal + tax + freight),
            "comment": pa.nulls(n, pa.string()),
            "rowguid": uuids(rng, n),
            "modifieddate": timestamps(changed),
        }
    )
    detail = pa.table(
        {
            "salesorderid": pa.array(o.salesorderid[pos]),
            "salesorderdetailid": pa.array(np.arange(first_line_id, first_line_id + m)),
            "carriertrackingnumber": carrier.take(pa.array(pos)),
            "orderqty": pa.array(qty, pa.int16()),
            "productid": pa.array(picker.cat.productid[product]),
            "specialofferid": pa.array(offer),
            "unitprice": money(price),
            "unitpricediscount": money(disc),
            "rowguid": uuids(rng, m),
            "modifieddate": timestamps(o.orderdate[pos]),
        }
    )
    return header, detail
