"""Reference data the generator draws from: real customer ids (with their country) and real
product list prices, read from the warehouse (replicated tables, read-only) or the source.

Falls back, with a warning, to anonymous visitors and a built-in list of AdventureWorks prices,
so ``adw events`` works before anything was seeded or replicated.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass

from adw_assets.settings import Settings, get_settings

log = logging.getLogger(__name__)

# Customers by country in the real AdventureWorks 2014 data (sales.customer by territory).
FALLBACK_COUNTRY_WEIGHTS: dict[str, int] = {
    "United States": 8637,
    "Australia": 3665,
    "United Kingdom": 1991,
    "France": 1884,
    "Germany": 1852,
    "Canada": 1791,
}
# A spread of real AdventureWorks list prices (production.product.listprice).
FALLBACK_PRICES: tuple[float, ...] = (
    3578.27, 3399.99, 2443.35, 2384.07, 2181.56, 1700.99, 1431.50, 1214.85, 1120.49, 782.99,
    769.49, 742.35, 539.99, 337.22, 249.79, 120.27, 102.29, 63.50, 53.99, 49.99, 44.54, 34.99,
    24.99, 21.98, 9.50, 8.99, 4.99, 2.29,
)  # fmt: skip

_CUSTOMERS_SQL = """
with territory_countries as (
    select
        territoryid,
        countryregioncode,
        row_number() over (
            partition by territoryid order by count(*) desc, countryregioncode
        ) as rank
    from {person}.stateprovince
    group by territoryid, countryregioncode
)
select c.customerid, cr.name
from {sales}.customer as c
left join territory_countries as t on t.territoryid = c.territoryid and t.rank = 1
left join {person}.countryregion as cr on cr.countryregioncode = t.countryregioncode
where c.personid is not null
order by c.customerid
"""
_PRICES_SQL = "select listprice from {production}.product where listprice > 0 order by productid"


@dataclass(frozen=True)
class Reference:
    customers: tuple[tuple[int, str], ...]
    """(customer id, country name) of individual customers; empty = anonymous visitors only."""
    countries: tuple[str, ...]
    weights: tuple[float, ...]
    """Cumulative weights of ``countries`` (the customer base)."""
    prices: tuple[float, ...]
    origin: str
    """Where it came from: ``warehouse``, ``source`` or ``fallback``."""


def build_reference(customers: list[tuple[int, str | None]], prices: list[float], origin: str):
    """A Reference from raw rows; customers without a known country are dropped."""
    known = tuple((int(cid), str(name)) for cid, name in customers if name)
    counts = Counter(name for _, name in known) if known else Counter(FALLBACK_COUNTRY_WEIGHTS)
    countries = tuple(sorted(counts, key=lambda c: (-counts[c], c)))
    total, cumulative = 0.0, []
    for name in countries:
        total += counts[name]
        cumulative.append(total)
    return Reference(
        customers=known,
        countries=countries,
        weights=tuple(cumulative),
        prices=tuple(round(float(p), 2) for p in prices) or FALLBACK_PRICES,
        origin=origin,
    )


def fallback_reference() -> Reference:
    return build_reference([], list(FALLBACK_PRICES), "fallback")


def _from_warehouse(settings: Settings) -> Reference | None:
    """The DuckDB warehouse's replicas; on BigQuery none (the source holds the same rows, and
    reading it bills no query)."""
    import duckdb

    if settings.warehouse != "duckdb" or not settings.duckdb_path.exists():
        return None
    from adw_assets.lib.warehouse import quote

    names = {s: quote(settings.raw_prefix + s) for s in ("sales", "person", "production")}
    # read_only: never takes the writer lock; fails (and we fall back) while a writer holds it
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        customers = con.execute(_CUSTOMERS_SQL.format(**names)).fetchall()
        prices = [r[0] for r in con.execute(_PRICES_SQL.format(**names)).fetchall()]
    if not customers and not prices:
        return None
    return build_reference(customers, prices, "warehouse")


def _from_source(settings: Settings) -> Reference | None:
    import psycopg

    from adw_assets.lib.source.server import source_dsn

    dsn = source_dsn(settings, start=False)
    names = {"sales": "sales", "person": "person", "production": "production"}
    with psycopg.connect(dsn, connect_timeout=3) as conn:
        customers = conn.execute(_CUSTOMERS_SQL.format(**names)).fetchall()
        prices = [r[0] for r in conn.execute(_PRICES_SQL.format(**names)).fetchall()]
    if not customers and not prices:
        return None
    return build_reference(customers, prices, "source")


def load_reference(settings: Settings | None = None) -> Reference:
    """Customers and prices from the warehouse, else the source, else the fallback (warns)."""
    settings = settings or get_settings()
    for loader in (_from_warehouse, _from_source):
        try:
            ref = loader(settings)
        except Exception as exc:  # unreachable, locked, not replicated yet: try the next one
            log.debug("reference data from %s unavailable: %s", loader.__name__, exc)
            continue
        if ref is not None:
            return ref
    log.warning(
        "no customers or products found in the warehouse or the source: web events get null "
        "user ids and built-in prices (run `adw up` or `adw source seed` for real ones)"
    )
    return fallback_reference()
