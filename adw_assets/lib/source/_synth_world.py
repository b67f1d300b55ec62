"""The synthetic AdventureWorks as a whole: who exists, who buys when, and the rows in batches.

The skeleton (order dates and buyers, who lives where, when each record was created) is small
and built first; the rows are then produced table by table in bounded batches, so memory does
not grow with the scale. Everything derives from ``(seed, scale, today)``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa

from adw_assets.lib.source import _synth_people as people
from adw_assets.lib.source._synth_common import DAY, SECOND, rng_for
from adw_assets.lib.source._synth_geo import addresses, cities, static_table
from adw_assets.lib.source._synth_products import catalog
from adw_assets.lib.source._synth_sales import (
    FIRST_ORDER_ID,
    SPAN_DAYS,
    Orders,
    ProductPicker,
    assign,
    order_batch,
    order_times,
)

# Real AdventureWorks counts (scale 1.0).
PERSON_TYPES = {"EM": 273, "SP": 17, "VC": 156, "GC": 289, "SC": 753, "IN": 18484}
STORES, STORE_CONTACTS = 701, 635
ADDRESSES, CREDITCARDS = 19_614, 19_118
ONLINE_ORDERS, RESELLER_ORDERS = 27_659, 3_806
BATCH_ROWS = 50_000
ORDER_BATCH = 20_000


def _n(real: int, scale: float) -> int:
    return max(1, round(real * scale))


@dataclass(frozen=True)
class Sizes:
    types: dict[str, int]
    stores: int
    contacts: int
    addresses: int
    creditcards: int
    online: int
    reseller: int

    @classmethod
    def for_scale(cls, scale: float) -> Sizes:
        types = {t: _n(c, scale) for t, c in PERSON_TYPES.items()}
        stores = _n(STORES, scale)
        return cls(
            types=types,
            stores=stores,
            contacts=min(_n(STORE_CONTACTS, scale), stores, types["SC"]),
            addresses=max(_n(ADDRESSES, scale), stores + types["IN"]),
            creditcards=_n(CREDITCARDS, scale),
            online=_n(ONLINE_ORDERS, scale),
            reseller=_n(RESELLER_ORDERS, scale),
        )


def _before(rng, when: np.ndarray, max_days: float, floor: np.datetime64) -> np.ndarray:
    back = (rng.random(len(when)) * max_days * 86400).astype(np.int64) * SECOND
    return np.maximum(when - back, floor)


class World:
    def __init__(self, scale: float, seed: int, today: date):
        self.seed, self.size = seed, Sizes.for_scale(scale)
        self.anchor = np.datetime64(today, "s")
        self.start = np.datetime64(today, "D") - (SPAN_DAYS) * DAY
        self.catalog = catalog(rng_for(seed, "products"), self.start)
        rng = rng_for(seed, "skeleton")
        s, t = self.size, self.size.types
        self.person_type = np.repeat(list(t), list(t.values()))
        n_people = len(self.person_type)
        self.n_in, first_in = t["IN"], n_people - t["IN"]
        first_sc = first_in - t["SC"]
        self.store_ids = np.arange(n_people + 1, n_people + s.stores + 1)
        oldest = self.start - 3 * 365 * DAY
        last = self.anchor - SECOND
        # orders: when and who (online: individual index; reseller: contact index)
        when = np.concatenate(
            [
                order_times(rng, self.start, s.online, True),
                order_times(rng, self.start, s.reseller, False),
            ]
        )
        online = np.r_[np.ones(s.online, bool), np.zeros(s.reseller, bool)]
        buyer = np.r_[assign(rng, s.online, self.n_in), assign(rng, s.reseller, s.contacts)]
        order = np.argsort(when, kind="stable")
        self.orderdate, self.online, buyer = when[order], online[order], buyer[order]
        first = np.full(self.n_in + s.contacts, last)
        np.minimum.at(first, np.where(self.online, buyer, self.n_in + buyer), self.orderdate)
        in_first, contact_first = first[: self.n_in], first[self.n_in :]
        # places: stores first, then one home per individual, then other addresses
        store_city = cities().sample(rng, s.stores)
        in_city = cities().sample(rng, self.n_in)
        extra = s.addresses - s.stores - self.n_in
        self.address_city = np.r_[store_city, in_city, cities().sample(rng, extra)]
        contact_store = rng.choice(s.stores, size=s.contacts, replace=False)
        # when each record was created (its modifieddate): shortly before its first order
        in_created = _before(rng, in_first, 45, oldest)
        store_created = (rng.integers(0, 365 * 4, size=s.stores) * DAY + oldest).astype("M8[s]")
        contact_created = _before(rng, contact_first, 120, oldest)
        np.minimum.at(store_created, contact_store, contact_created)
        person_created = (rng.integers(0, 6 * 365, n_people) * DAY + oldest).astype("M8[s]")
        person_created[first_in:] = in_created
        person_created[first_sc : first_sc + s.contacts] = contact_created
        self.person_created = np.minimum(person_created, last)
        self.store_created = np.minimum(store_created, last)
        addr_created = (rng.integers(0, 6 * 365, s.addresses) * DAY + oldest).astype("M8[s]")
        addr_created[: s.stores] = self.store_created
        addr_created[s.stores : s.stores + self.n_in] = in_created
        self.address_created = np.minimum(addr_created, last)
        self.person_country = np.full(n_people, "US")
        self.person_country[first_in:] = cities().country[in_city]
        self.in_first, self.first_in, self.first_sc = in_first, first_in, first_sc
        self.store_salesperson = rng.choice(
            np.flatnonzero(self.person_type == "SP") + 1, size=s.stores
        )
        # customers: stores (no person), store contacts, individuals
        territory = cities().territoryid
        self.cust_person = np.r_[
            np.zeros(s.stores, int),
            first_sc + 1 + np.arange(s.contacts),
            first_in + 1 + np.arange(self.n_in),
        ]
        self.cust_store = np.r_[
            self.store_ids, self.store_ids[contact_store], np.zeros(self.n_in, int)
        ]
        cust_address = np.r_[np.arange(s.stores), contact_store, s.stores + np.arange(self.n_in)]
        self.cust_territory = territory[self.address_city[cust_address]]
        self.cust_created = np.minimum(np.r_[self.store_created, contact_created, in_created], last)
        # credit cards: individuals first, then store contacts
        holders = np.r_[first_in + np.arange(self.n_in), first_sc + np.arange(t["SC"])]
        self.card_created = self.person_created[holders[np.arange(s.creditcards) % len(holders)]]
        card_of = lambda person: np.where(person < s.creditcards, person + 1, 0)  # noqa: E731
        cards = np.r_[
            np.zeros(s.stores, int),
            card_of(self.n_in + np.arange(s.contacts)),
            card_of(np.arange(self.n_in)),
        ]
        contact_id = s.stores + 1 + buyer
        self.order_customer = np.where(self.online, s.stores + s.contacts + 1 + buyer, contact_id)
        ci = self.order_customer - 1
        pays = rng.random(len(ci)) < np.where(self.online, 0.96, 0.31)
        self.order_card = np.where(pays, cards[ci], 0)
        self.order_address = cust_address[ci] + 1
        self.order_territory = self.cust_territory[ci]
        store_index = np.where(self.cust_store > 0, self.cust_store - self.store_ids[0], 0)
        self.order_salesperson = np.where(self.online, 0, self.store_salesperson[store_index[ci]])

    def batches(self) -> Iterator[tuple[str, pa.Table]]:
        """``(schema.table, rows)`` in foreign-key order; each table's batches in key order."""
        seed, s = self.seed, self.size
        yield "person.countryregion", static_table("countryregion.csv")
        yield "person.stateprovince", static_table("stateprovince.csv")
        for b, lo, hi in _chunks(s.addresses, BATCH_ROWS):
            rng = rng_for(seed, "address", b)
            yield (
                "person.address",
                addresses(rng, seed, lo + 1, self.address_city[lo:hi], self.address_created[lo:hi]),
            )
        for b, lo, hi in _chunks(len(self.person_type), BATCH_ROWS):
            first_purchase = np.full(hi - lo, self.anchor)
            ins = np.arange(lo, hi) >= self.first_in
            first_purchase[ins] = self.in_first[np.arange(lo, hi)[ins] - self.first_in]
            yield (
                "person.person",
                people.persons(
                    rng_for(seed, "person", b),
                    seed,
                    np.arange(lo + 1, hi + 1),
                    self.person_type[lo:hi],
                    self.person_country[lo:hi],
                    self.person_created[lo:hi],
                    first_purchase,
                    self.anchor,
                ),
            )
        yield "production.productcategory", static_table("productcategory.csv")
        yield "production.productsubcategory", static_table("productsubcategory.csv")
        yield "production.product", self.catalog.table
        for b, lo, hi in _chunks(s.creditcards, BATCH_ROWS):
            yield (
                "sales.creditcard",
                people.creditcards(
                    rng_for(seed, "creditcard", b),
                    np.arange(lo + 1, hi + 1),
                    self.card_created[lo:hi],
                ),
            )
        yield (
            "sales.store",
            people.stores(
                rng_for(seed, "store"),
                self.store_ids,
                self.store_salesperson,
                self.store_created,
                self.anchor,
            ),
        )
        for b, lo, hi in _chunks(len(self.cust_person), BATCH_ROWS):
            yield (
                "sales.customer",
                people.customers(
                    rng_for(seed, "customer", b),
                    np.arange(lo + 1, hi + 1),
                    self.cust_person[lo:hi],
                    self.cust_store[lo:hi],
                    self.cust_territory[lo:hi],
                    self.cust_created[lo:hi],
                ),
            )
        picker = ProductPicker(self.catalog, self.start)
        next_line = 1
        for b, lo, hi in _chunks(len(self.orderdate), ORDER_BATCH):
            orders = Orders(
                salesorderid=FIRST_ORDER_ID + np.arange(lo, hi),
                orderdate=self.orderdate[lo:hi],
                online=self.online[lo:hi],
                customerid=self.order_customer[lo:hi],
                territoryid=self.order_territory[lo:hi],
                addressid=self.order_address[lo:hi],
                creditcardid=self.order_card[lo:hi],
                salespersonid=self.order_salesperson[lo:hi],
            )
            header, detail = order_batch(
                rng_for(seed, "orders", b), picker, orders, next_line, self.anchor
            )
            next_line += detail.num_rows
            yield "sales.salesorderheader", header
            yield "sales.salesorderdetail", detail


def _chunks(total: int, size: int) -> Iterator[tuple[int, int, int]]:
    for b, lo in enumerate(range(0, total, size)):
        yield b, lo, min(lo + size, total)
