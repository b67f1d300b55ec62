"""The generator: deterministic, realistic sessions, real reference data when available."""

from __future__ import annotations

import itertools
from collections import Counter
from datetime import datetime

import duckdb
import psycopg
import pytest

from adw_assets.lib.events.generator import ANOMALIES, BLOCK_SIZE, EventGenerator
from adw_assets.lib.events.reference import (
    FALLBACK_COUNTRY_WEIGHTS,
    FALLBACK_PRICES,
    build_reference,
    load_reference,
)
from adw_assets.lib.events.schema import DEVICE_TYPES, FIELDS

T0 = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def test_same_seed_same_events_and_any_slice_regenerates_identically():
    a = EventGenerator(11, bad_ratio=0.05).emit(0, 3 * BLOCK_SIZE, T0, T0 + 30)
    b = EventGenerator(11, bad_ratio=0.05).emit(0, 3 * BLOCK_SIZE, T0, T0 + 30)
    assert a == b
    # a restart in the middle of a block (same emission window per event) gives the same events
    step = 30 / (3 * BLOCK_SIZE)
    start, count = BLOCK_SIZE + 17, 700
    resumed = EventGenerator(11, bad_ratio=0.05).emit(
        start, count, T0 + step * start, T0 + step * (start + count)
    )
    assert resumed == a[start : start + count]


def test_seeds_and_stream_names_never_share_event_ids():
    ids = {}
    for key, generator in {
        "seed 1": EventGenerator(1),
        "seed 2": EventGenerator(2),
        "burst seed 1": EventGenerator(1, stream="burst"),
    }.items():
        ids[key] = {e["event_id"] for e in generator.emit(0, 2000, T0, T0 + 10)}
        assert len(ids[key]) == 2000
    assert not ids["seed 1"] & ids["seed 2"]
    assert not ids["seed 1"] & ids["burst seed 1"]


def test_events_have_the_schema_and_sessions_of_several_page_views():
    events = EventGenerator(3).emit(0, 20_000, T0, T0 + 100)
    assert all(list(e) == list(FIELDS) for e in events)
    sessions = Counter(e["session_id"] for e in events)
    assert sum(sessions.values()) / len(sessions) > 2.5  # several page views per session
    by_session: dict[str, list[dict]] = {}
    for e in events:
        by_session.setdefault(e["session_id"], []).append(e)
    for views in by_session.values():
        # one visitor per session; each page's referrer is the previous page of the session
        assert len({(v["device_type"], v["ip_address"], v["country"]) for v in views}) == 1
        for previous, current in itertools.pairwise(views):
            assert current["referrer_url"] == previous["page_url"]
    entry_referrers = Counter(
        "direct" if v[0]["referrer_url"] is None else "external" for v in by_session.values()
    )
    assert entry_referrers["direct"] > 0 and entry_referrers["external"] > 0
    devices = Counter(e["device_type"] for e in events)
    assert set(devices) == set(DEVICE_TYPES)
    assert devices["desktop"] > devices["mobile"] > devices["tablet"]
    timestamps = [datetime.fromisoformat(e["timestamp"]).timestamp() for e in events]
    assert min(timestamps) > T0 and max(timestamps) <= T0 + 100


def test_countries_follow_the_customer_base_and_orders_use_real_prices():
    events = EventGenerator(5).emit(0, 30_000, T0, T0 + 100)
    countries = Counter(e["country"] for e in events)
    assert set(countries) == set(FALLBACK_COUNTRY_WEIGHTS)
    assert countries.most_common(1)[0][0] == "United States"
    assert countries["United States"] > 2 * countries["Canada"]
    orders = [e for e in events if e["order_value"] > 0]
    assert 0 < len(orders) < 0.1 * len(events)  # a small purchase probability
    assert all(e["page_url"].endswith("/checkout/confirmation") for e in orders)
    assert min(e["order_value"] for e in orders) >= min(FALLBACK_PRICES)
    assert all(e["user_id"] is None for e in events)  # no customers known: anonymous


def test_signed_in_visitors_are_real_customers_in_their_own_country():
    customers = [(101, "France"), (102, "France"), (103, "Canada"), (104, None)]
    ref = build_reference(customers, [10.0, 20.0], "test")
    assert ref.customers == ((101, "France"), (102, "France"), (103, "Canada"))
    events = EventGenerator(9, reference=ref).emit(0, 5000, T0, T0 + 10)
    signed_in = [e for e in events if e["user_id"] is not None]
    assert 0.2 < len(signed_in) / len(events) < 0.5
    country_of = dict(ref.customers)
    assert all(e["country"] == country_of[e["user_id"]] for e in signed_in)
    assert {e["order_value"] for e in events} <= {0.0} | {
        round(a + b, 2) for a in (0, 10, 20, 40) for b in (0, 10, 20, 40)
    } | {round(a + b + c, 2) for a in (10, 20, 40) for b in (10, 20, 40) for c in (10, 20, 40)}


def test_bad_ratio_injects_every_kind_deterministically():
    generator = EventGenerator(7, bad_ratio=0.2)
    kinds = Counter(generator.anomaly(seq) for seq in range(10_000))
    assert set(kinds) - {None} == set(ANOMALIES)
    assert 0.17 < (10_000 - kinds[None]) / 10_000 < 0.23
    # a lower ratio injects a subset of the same anomalies
    lower = EventGenerator(7, bad_ratio=0.05)
    assert all(lower.anomaly(seq) in (None, generator.anomaly(seq)) for seq in range(10_000))
    with pytest.raises(ValueError):
        EventGenerator(7, bad_ratio=1.5)


def test_reference_comes_from_the_replicated_tables_read_only(adw_home):
    from adw_assets.settings import get_settings

    path = get_settings().duckdb_path
    path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(path)) as con:
        for schema in ("raw_sales", "raw_person", "raw_production"):
            con.execute(f"create schema {schema}")
        con.execute(
            "create table raw_person.countryregion as select * from (values "
            "('US', 'United States'), ('AS', 'American Samoa'), ('FR', 'France')) "
            "t(countryregioncode, name)"
        )
        con.execute(
            "create table raw_person.stateprovince as select * from (values "
            "(1, 'US', 1), (2, 'US', 1), (3, 'AS', 1), (4, 'FR', 7)) "
            "t(stateprovinceid, countryregioncode, territoryid)"
        )
        con.execute(
            "create table raw_sales.customer as select * from (values "
            "(1, 10, null, 1), (2, null, 5, 1), (3, 11, null, 7), (4, 12, null, 7)) "
            "t(customerid, personid, storeid, territoryid)"
        )
        con.execute(
            "create table raw_production.product as select * from (values "
            "(1, 0.0), (2, 49.99), (3, 3578.27)) t(productid, listprice)"
        )
    ref = load_reference()
    assert ref.origin == "warehouse"
    # store customers are not web visitors; a territory's country is its main one
    assert ref.customers == ((1, "United States"), (3, "France"), (4, "France"))
    assert ref.countries == ("France", "United States")
    assert ref.prices == (49.99, 3578.27)


def test_reference_falls_back_with_a_warning_when_nothing_is_there(adw_home, caplog):
    with caplog.at_level("WARNING"):
        ref = load_reference()
    assert ref.origin == "fallback"
    assert ref.customers == ()
    assert "null user ids" in caplog.text


def test_reference_comes_from_the_source_when_nothing_is_replicated(source_db):
    from adw_assets.lib.source.seed import seed_database

    seed_database(source_db, scale=0.02, seed=3)
    ref = load_reference()
    assert ref.origin == "source"
    assert ref.customers and ref.prices
    with psycopg.connect(source_db) as conn:
        individuals = conn.execute(
            "select count(*) from sales.customer where personid is not null"
        ).fetchone()[0]
        countries = {r[0] for r in conn.execute("select name from person.countryregion")}
    assert len(ref.customers) == individuals
    assert {country for _, country in ref.customers} <= countries
    events = EventGenerator(1, reference=ref).emit(0, 3000, T0, T0 + 10)
    known = dict(ref.customers)
    assert all(e["user_id"] in known for e in events if e["user_id"] is not None)
