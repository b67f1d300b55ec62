from __future__ import annotations

import time
from datetime import date, timedelta

import psycopg
import pytest

from adw_assets.errors import ConfigError, SourceError
from adw_assets.lib.source.seed import is_seeded, seed_database
from tests.lib.source.conftest import (
    MONEY_VIOLATIONS,
    TODAY,
    checksums,
    counts,
    declared_foreign_keys,
    reference_violations,
    rows,
    scalar,
)

QUIET = {"progress": lambda _: None}
REFERENCE_TABLES = {
    "person.countryregion": 238,
    "person.stateprovince": 181,
    "production.productcategory": 4,
    "production.productsubcategory": 37,
    "production.product": 504,
}
REAL = {
    "person.address": 19_614,
    "person.person": 19_972,
    "sales.creditcard": 19_118,
    "sales.store": 701,
    "sales.customer": 19_820,
    "sales.salesorderheader": 31_465,
    "sales.salesorderdetail": 121_317,
}


def test_same_seed_same_checksums_different_seed_different(make_db):
    a, b, c = make_db(), make_db(), make_db()
    seed_database(a, scale=0.02, seed=5, today=TODAY, **QUIET)
    seed_database(b, scale=0.02, seed=5, today=TODAY, **QUIET)
    seed_database(c, scale=0.02, seed=6, today=TODAY, **QUIET)
    sums_a, sums_b, sums_c = checksums(a), checksums(b), checksums(c)
    assert sums_a == sums_b
    synthetic = [t for t in sums_a if t not in REFERENCE_TABLES or t == "production.product"]
    assert all(sums_a[t] != sums_c[t] for t in synthetic), synthetic
    assert all(sums_a[t] == sums_c[t] for t in REFERENCE_TABLES if t != "production.product")


def test_every_reference_has_its_parent(seeded_dsn):
    assert reference_violations(seeded_dsn) == dict.fromkeys(reference_violations(seeded_dsn), 0)
    assert declared_foreign_keys(seeded_dsn) == 12  # dropped during COPY, added back
    # stores and people share the business-entity key space without clashing
    assert (
        scalar(
            seeded_dsn,
            "select count(*) from sales.store join person.person using (businessentityid)",
        )
        == 0
    )


def test_money_is_exact(seeded_dsn):
    assert scalar(seeded_dsn, MONEY_VIOLATIONS) == 0
    # online lines at list price, reseller lines at 60% of it; discounts only for resellers
    bad = scalar(
        seeded_dsn,
        """
        select count(*) from sales.salesorderdetail d join sales.salesorderheader h
        using (salesorderid) join production.product p using (productid)
        where d.unitprice <> case when h.onlineorderflag then p.listprice
                                  else round(p.listprice * 0.6, 4) end
           or (h.onlineorderflag and (d.unitpricediscount <> 0 or d.orderqty <> 1))""",
    )
    assert bad == 0


def test_orders_look_like_adventureworks(seeded_dsn):
    statuses = dict(
        rows(seeded_dsn, "select status, count(*) from sales.salesorderheader group by 1")
    )
    total = sum(statuses.values())
    assert set(statuses) == {1, 2, 3, 4, 5, 6}
    assert statuses[5] / total > 0.9
    assert 0 < statuses[4] < statuses[6] < 0.05 * total
    online = scalar(seeded_dsn, "select avg(onlineorderflag::int) from sales.salesorderheader")
    assert 0.85 <= online <= 0.91
    first, last = rows(
        seeded_dsn, "select min(orderdate), max(orderdate) from sales.salesorderheader"
    )[0]
    assert first.date() >= TODAY - timedelta(days=3 * 365 + 1)
    assert TODAY - timedelta(days=2) <= last.date() < TODAY
    years_ago = dict(
        rows(
            seeded_dsn,
            """
        select floor(extract(epoch from %s::timestamp - orderdate) / (365 * 86400)), count(*)
        from sales.salesorderheader group by 1""",
            (TODAY,),
        )
    )
    assert years_ago[0] > 1.5 * years_ago[2]  # growth: this year outsells three years ago
    # lines per order: ~2 online, ~16 for resellers
    per_order = dict(
        rows(
            seeded_dsn,
            """
        select onlineorderflag, count(*)::float / count(distinct salesorderid)
        from sales.salesorderdetail join sales.salesorderheader using (salesorderid) group by 1""",
        )
    )
    assert 1.8 < per_order[True] < 2.6 and 12 < per_order[False] < 20


def test_dates_are_consistent(seeded_dsn):
    assert (
        scalar(
            seeded_dsn,
            """
        select count(*) from sales.salesorderheader
        where duedate <> orderdate + interval '12 days'
           or modifieddate < orderdate or modifieddate >= %s
           or (status = 5) <> (shipdate is not null)
           or shipdate - orderdate not in (interval '7 days', interval '8 days')""",
            (TODAY,),
        )
        == 0
    )
    assert (
        scalar(
            seeded_dsn,
            """
        select count(*) from sales.salesorderdetail d join sales.salesorderheader h
        using (salesorderid) join production.product p using (productid)
        where d.modifieddate <> h.orderdate or h.orderdate < p.sellstartdate
           or h.orderdate >= p.sellenddate + interval '1 day'""",
        )
        == 0
    )
    for table in counts(seeded_dsn):
        newest = scalar(seeded_dsn, f"select max(modifieddate) from {table}")
        assert newest.date() < TODAY, table


def test_customers_people_and_places(seeded_dsn):
    countries = dict(
        rows(
            seeded_dsn,
            """
        select s.countryregioncode, count(*) from sales.customer c
        join sales.salesorderheader h using (customerid)
        join person.address a on a.addressid = h.billtoaddressid
        join person.stateprovince s using (stateprovinceid) group by 1""",
        )
    )
    assert set(countries) == {"US", "CA", "GB", "FR", "DE", "AU"}
    assert max(countries, key=countries.get) == "US"
    kinds = dict(
        rows(
            seeded_dsn,
            """
        select case when storeid is null then 'person' when personid is null then 'store'
                    else 'store contact' end, count(*) from sales.customer group by 1""",
        )
    )
    assert kinds["person"] > kinds["store"] > kinds["store contact"] > 0
    # online orders come from people, reseller orders from store contacts
    assert (
        scalar(
            seeded_dsn,
            """
        select count(*) from sales.salesorderheader h join sales.customer c using (customerid)
        where h.onlineorderflag <> (c.storeid is null) or c.personid is null""",
        )
        == 0
    )
    assert (
        scalar(
            seeded_dsn,
            """
        select count(*) from sales.customer c join person.person p
        on p.businessentityid = c.personid
        where p.persontype <> case when c.storeid is null then 'IN' else 'SC' end""",
        )
        == 0
    )


def test_sequences_continue_after_the_seeded_keys(seeded_dsn):
    for table, column in [
        ("person.address", "addressid"),
        ("sales.customer", "customerid"),
        ("sales.salesorderheader", "salesorderid"),
        ("sales.salesorderdetail", "salesorderdetailid"),
    ]:
        seq = scalar(seeded_dsn, "select pg_get_serial_sequence(%s, %s)", (table, column))
        last, called = rows(seeded_dsn, f"select last_value, is_called from {seq}")[0]
        assert (last, called) == (
            scalar(seeded_dsn, f"select max({column}) from {table}") + 1,
            False,
        ), table


def test_scale_001_counts(source_db):
    got = seed_database(source_db, scale=0.01, seed=1, today=TODAY, **QUIET)
    assert got == counts(source_db)
    assert list(got) == [*counts(source_db)]  # catalog order
    for table, n in REFERENCE_TABLES.items():
        assert got[table] == n
    assert got["sales.salesorderheader"] == round(27_659 * 0.01) + round(3_806 * 0.01)
    for table, n in REAL.items():
        # order lines vary most: 38 reseller orders of 1 to 72 lines each
        share = 0.25 if table == "sales.salesorderdetail" else 0.1
        assert abs(got[table] - n * 0.01) <= max(6, share * n * 0.01), (table, got[table])


@pytest.mark.slow
def test_scale_1_matches_the_real_row_counts(source_db):
    started = time.perf_counter()
    got = seed_database(source_db, scale=1.0, seed=42, today=TODAY, **QUIET)
    seconds = time.perf_counter() - started
    for table, n in {**REFERENCE_TABLES, **REAL}.items():
        if table == "sales.salesorderdetail":
            assert abs(got[table] - n) < 0.02 * n
        else:
            assert got[table] == n, table
    assert scalar(source_db, MONEY_VIOLATIONS) == 0
    assert not any(reference_violations(source_db).values())
    print(f"scale 1 seeded in {seconds:.1f} s")


def test_refuses_a_seeded_database_unless_replace(source_db):
    assert is_seeded(source_db) is False
    seed_database(source_db, scale=0.01, seed=1, today=TODAY, **QUIET)
    assert is_seeded(source_db) is True
    before = checksums(source_db)
    with pytest.raises(SourceError, match="--replace"):
        seed_database(source_db, scale=0.01, seed=2, today=TODAY, **QUIET)
    assert checksums(source_db) == before
    seed_database(source_db, scale=0.01, seed=2, today=TODAY, replace=True, **QUIET)
    after = checksums(source_db)
    assert after["sales.salesorderheader"] != before["sales.salesorderheader"]
    assert min(counts(source_db).values()) > 0


def test_a_failed_seed_leaves_the_database_unchanged(source_db):
    def fail_on_orders(message: str) -> None:
        if "sales.customer" in message:
            raise RuntimeError("interrupted")

    with pytest.raises(RuntimeError):
        seed_database(source_db, scale=0.01, today=TODAY, progress=fail_on_orders)
    assert set(counts(source_db).values()) == {0}
    assert declared_foreign_keys(source_db) == 12


def test_seeds_a_database_without_tables_and_defaults_to_today(empty_db):
    assert is_seeded(empty_db) is False  # no tables at all
    seed_database(empty_db, scale=0.005, **QUIET)
    last = scalar(empty_db, "select max(orderdate) from sales.salesorderheader")
    assert date.today() - timedelta(days=7) <= last.date() < date.today()


def test_xml_documents_are_kept(seeded_dsn):
    survey = scalar(
        seeded_dsn, "select demographics::text from person.person where persontype = 'IN' limit 1"
    )
    assert survey.startswith("<IndividualSurvey xmlns=") and "<YearlyIncome>" in survey
    with psycopg.connect(seeded_dsn) as conn:
        from adw_assets.lib.source.load import xml_as_text_if_unsupported

        assert xml_as_text_if_unsupported(conn) == []  # already text, or xml supported


def test_every_xml_document_is_well_formed(seeded_dsn):
    """A server with libxml (any packaged PostgreSQL) rejects malformed XML: "&" must be escaped."""
    from xml.dom.minidom import parseString

    with psycopg.connect(seeded_dsn) as conn:
        docs = conn.execute(
            "select demographics::text from person.person where demographics is not null "
            "union all select demographics::text from sales.store where demographics is not null"
        ).fetchall()
    assert len(docs) > 100
    for (doc,) in docs:
        parseString(doc)  # raises ExpatError on "Primary Bank & Reserve"
    assert any("&amp;" in doc for (doc,) in docs)


def test_scale_out_of_range_is_refused(source_db):
    with pytest.raises(ConfigError, match="scale"):
        seed_database(source_db, scale=0, **QUIET)
