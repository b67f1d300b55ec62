"""Fixtures and SQL checks for the source tests (seed, load, simulate)."""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

import psycopg
import pytest

from adw_assets.lib.source.catalog import TABLES

TODAY = date(2025, 6, 1)
"""The fixed anchor date every reproducible seed in these tests uses."""

# (child table, column, parent table, parent column): the 12 declared foreign keys, then
# references the real schema has but that stay implicit among these 12 tables.
REFERENCES = [
    ("person.stateprovince", "countryregioncode", "person.countryregion", "countryregioncode"),
    ("person.address", "stateprovinceid", "person.stateprovince", "stateprovinceid"),
    (
        "production.productsubcategory",
        "productcategoryid",
        "production.productcategory",
        "productcategoryid",
    ),
    (
        "production.product",
        "productsubcategoryid",
        "production.productsubcategory",
        "productsubcategoryid",
    ),
    ("sales.customer", "personid", "person.person", "businessentityid"),
    ("sales.customer", "storeid", "sales.store", "businessentityid"),
    ("sales.salesorderheader", "customerid", "sales.customer", "customerid"),
    ("sales.salesorderheader", "billtoaddressid", "person.address", "addressid"),
    ("sales.salesorderheader", "shiptoaddressid", "person.address", "addressid"),
    ("sales.salesorderheader", "creditcardid", "sales.creditcard", "creditcardid"),
    ("sales.salesorderdetail", "salesorderid", "sales.salesorderheader", "salesorderid"),
    ("sales.salesorderdetail", "productid", "production.product", "productid"),
    ("sales.store", "salespersonid", "person.person", "businessentityid"),
    ("sales.salesorderheader", "salespersonid", "person.person", "businessentityid"),
    ("sales.salesorderheader", "territoryid", "person.stateprovince", "territoryid"),
    ("sales.customer", "territoryid", "person.stateprovince", "territoryid"),
]

MONEY_VIOLATIONS = """
with lines as (
    select salesorderid, round(sum(orderqty * unitprice * (1 - unitpricediscount)), 4) as total
    from sales.salesorderdetail group by salesorderid
)
select count(*) from sales.salesorderheader h left join lines l using (salesorderid)
where l.total is null
   or h.subtotal <> l.total
   or h.taxamt <> round(h.subtotal * 0.08, 4)
   or h.freight <> round(h.subtotal * 0.025, 4)
   or h.totaldue <> h.subtotal + h.taxamt + h.freight
"""


def scalar(dsn: str, query: str, params=None):
    with psycopg.connect(dsn) as conn:
        return conn.execute(query, params).fetchone()[0]


def rows(dsn: str, query: str, params=None) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(query, params).fetchall()


def counts(dsn: str) -> dict[str, int]:
    with psycopg.connect(dsn) as conn:
        return {
            t.qualified: conn.execute(f"select count(*) from {t.qualified}").fetchone()[0]
            for t in TABLES
        }


def checksums(dsn: str) -> dict[str, str]:
    """md5 of every table's rows (as text) in primary-key order, computed by PostgreSQL."""
    out = {}
    with psycopg.connect(dsn) as conn:
        for t in TABLES:
            order = ", ".join(t.primary_key)
            out[t.qualified] = conn.execute(
                f"select md5(coalesce(string_agg(x::text, '|' order by {order}), '')) "
                f"from {t.qualified} x"
            ).fetchone()[0]
    return out


def reference_violations(dsn: str) -> dict[str, int]:
    """Rows whose reference has no parent, per reference (anti-joins in PostgreSQL)."""
    out = {}
    with psycopg.connect(dsn) as conn:
        for child, col, parent, pcol in REFERENCES:
            out[f"{child}.{col}"] = conn.execute(
                f"select count(*) from {child} c where c.{col} is not null and not exists "
                f"(select 1 from {parent} p where p.{pcol} = c.{col})"
            ).fetchone()[0]
    return out


def declared_foreign_keys(dsn: str) -> int:
    return scalar(
        dsn,
        "select count(*) from information_schema.table_constraints where constraint_type = "
        "'FOREIGN KEY' and table_schema in ('person', 'production', 'sales')",
    )


@pytest.fixture
def make_db(pg_cluster):
    """Create extra empty databases with the source DDL; dropped after the test."""
    from adw_assets.lib.source.server import ensure_schema, with_database

    made: list[str] = []

    def make() -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        with psycopg.connect(pg_cluster, autocommit=True) as conn:
            conn.execute(f'create database "{name}"')
        made.append(name)
        dsn = with_database(pg_cluster, name)
        ensure_schema(dsn)
        return dsn

    yield make
    with psycopg.connect(pg_cluster, autocommit=True) as conn:
        for name in made:
            conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="session")
def seeded_dsn(pg_cluster) -> str:
    """A database seeded once at scale 0.1 (seed 42, TODAY). Tests must only read it."""
    from adw_assets.lib.source.seed import seed_database
    from adw_assets.lib.source.server import with_database

    name = f"seeded_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_cluster, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    dsn = with_database(pg_cluster, name)
    seed_database(dsn, scale=0.1, seed=42, today=TODAY, progress=lambda _: None)
    yield dsn
    with psycopg.connect(pg_cluster, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture(scope="session")
def exported_dir(pg_cluster, tmp_path_factory) -> tuple[Path, dict[str, str]]:
    """A small seed (scale 0.01) written out as ``<schema>.<table>.csv`` files with a header,
    in the format of the real data set; with the checksums of the database it came from."""
    from adw_assets.lib.source.seed import seed_database
    from adw_assets.lib.source.server import with_database

    name = f"export_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(pg_cluster, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    dsn = with_database(pg_cluster, name)
    seed_database(dsn, scale=0.01, seed=7, today=TODAY, progress=lambda _: None)
    folder = tmp_path_factory.mktemp("export")
    with psycopg.connect(dsn) as conn:
        for t in TABLES:
            order = ", ".join(t.primary_key)
            with (
                (folder / f"{t.qualified}.csv").open("wb") as f,
                conn.cursor().copy(
                    f"copy (select * from {t.qualified} order by {order}) to stdout "
                    "with (format csv, header true)"
                ) as copy,
            ):
                for chunk in copy:
                    f.write(chunk)
    sums = checksums(dsn)
    with psycopg.connect(pg_cluster, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
    return folder, sums
