from __future__ import annotations

from datetime import datetime

import pytest

from adw_assets.errors import ConfigError, SourceError
from adw_assets.lib.source.seed import seed_database
from adw_assets.lib.source.simulate import simulate
from tests.lib.source.conftest import (
    MONEY_VIOLATIONS,
    TODAY,
    checksums,
    counts,
    reference_violations,
    rows,
    scalar,
)

QUIET = {"progress": lambda _: None}
AT = datetime(2025, 6, 2, 9, 30)
STATUS_CHANGES = ("orders_approved", "orders_backordered", "orders_shipped", "orders_cancelled")


def _seeded(dsn: str) -> str:
    seed_database(dsn, scale=0.02, seed=11, today=TODAY, **QUIET)
    return dsn


def test_simulate_changes_rows_and_bumps_modifieddate(source_db):
    dsn = _seeded(source_db)
    before = counts(dsn)
    open_orders = scalar(dsn, "select count(*) from sales.salesorderheader where status < 4")
    max_order = scalar(dsn, "select max(salesorderid) from sales.salesorderheader")
    done = simulate(dsn, orders=30, updates=40, seed=1, at=AT, **QUIET)

    assert done["orders_created"] == 30
    assert done["customers_created"] == 12 and done["addresses_created"] == 9
    after = counts(dsn)
    assert after["sales.salesorderheader"] == before["sales.salesorderheader"] + 30
    assert after["sales.salesorderdetail"] == (
        before["sales.salesorderdetail"] + done["order_lines_created"]
    )
    assert after["sales.customer"] == before["sales.customer"] + 12
    assert after["person.person"] == before["person.person"] + 12
    assert sum(done.get(k, 0) for k in STATUS_CHANGES) == min(20, open_orders)
    assert done["addresses_changed"] == 10 and done["prices_changed"] == 10

    def touched(table: str) -> int:
        return scalar(dsn, f"select count(*) from {table} where modifieddate = %s", (AT,))

    status_changes = sum(done.get(k, 0) for k in STATUS_CHANGES)
    assert touched("sales.salesorderheader") == 30 + status_changes
    assert touched("sales.salesorderdetail") == done["order_lines_created"]
    assert touched("person.address") == done["addresses_created"] + done["addresses_changed"]
    assert touched("production.product") == done["prices_changed"]
    assert touched("sales.customer") == touched("person.person") == 12
    # new orders: In process, fresh keys, exact money; shipped orders have a ship date
    assert (
        scalar(
            dsn, "select min(salesorderid) from sales.salesorderheader where orderdate = %s", (AT,)
        )
        == max_order + 1
    )
    assert (
        scalar(
            dsn,
            "select count(*) from sales.salesorderheader where orderdate = %s and status <> 1",
            (AT,),
        )
        == 0
    )
    assert (
        scalar(
            dsn,
            "select count(*) from sales.salesorderheader "
            "where (status = 5) <> (shipdate is not null)",
        )
        == 0
    )
    assert scalar(
        dsn, "select count(*) from sales.salesorderheader where shipdate = %s", (AT,)
    ) == done.get("orders_shipped", 0)
    assert scalar(dsn, MONEY_VIOLATIONS) == 0
    assert not any(reference_violations(dsn).values())


def test_same_seed_same_activity(make_db):
    a, b = _seeded(make_db()), _seeded(make_db())
    assert simulate(a, orders=10, updates=20, seed=5, at=AT, **QUIET) == simulate(
        b, orders=10, updates=20, seed=5, at=AT, **QUIET
    )
    assert checksums(a) == checksums(b)


def test_without_a_time_it_uses_the_database_clock(source_db):
    dsn = _seeded(source_db)
    simulate(dsn, orders=3, updates=0, **QUIET)
    newest, db_now = rows(
        dsn, "select max(modifieddate), localtimestamp from sales.salesorderheader"
    )[0]
    assert abs((db_now - newest).total_seconds()) < 120


def test_simulate_needs_a_seeded_source(source_db):
    with pytest.raises(SourceError, match="adw source seed"):
        simulate(source_db, orders=1, **QUIET)


def test_negative_counts_are_refused(source_db):
    with pytest.raises(ConfigError):
        simulate(source_db, orders=-1, **QUIET)
