"""Change data capture (``ADW_REPLICATION_METHOD=cdc``): snapshot, changes and deletes from the
write-ahead log, exactly once across restarts, against a real PostgreSQL and DuckDB."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from pathlib import Path

import psycopg
import pytest

from adw_assets.lib.replication import cdc_slot
from adw_assets.lib.source.server import dsn_with_user
from adw_assets.lib.source.simulate import simulate
from adw_assets.settings import CDC_ROLE
from tests.lib.replication.fixtures import (
    duplicate_keys,
    execute,
    mismatches,
    query,
    sync_keeping_raw_history,
)


def cdc_dsn(owner: str) -> str:
    return dsn_with_user(owner, CDC_ROLE)


@pytest.fixture
def cdc_source(replica_source) -> str:
    cdc_slot.setup(replica_source, superuser_role=True, connection_limit=8)
    yield replica_source
    cdc_slot.teardown(replica_source)


def sync(owner: str, path, **kw):
    """A CDC sync that also keeps the raw history (off by default), where these tests check the
    delete records and every version."""
    result = sync_keeping_raw_history(cdc_dsn(owner), path, method="cdc", retries=0, **kw)
    result.raise_for_failures()
    return result


def test_snapshot_then_changes_and_deletes_equal_the_source(cdc_source, tmp_path):
    path = tmp_path / "w.duckdb"
    first = sync(cdc_source, path)
    assert first["salesorderheader"].full_refresh
    assert mismatches(cdc_source, path) == {}
    done = simulate(cdc_source, orders=20, updates=40, deletes=12, seed=3, progress=lambda _m: None)
    assert done["orders_deleted"] == 4 and done["creditcards_deleted"] == 4
    assert done["order_lines_deleted"] >= 8
    execute(cdc_source, "delete from sales.salesorderdetail where salesorderdetailid = "
            "(select min(salesorderdetailid) from sales.salesorderdetail)")  # fmt: skip
    second = sync(cdc_source, path)
    assert not second["salesorderheader"].full_refresh
    assert mismatches(cdc_source, path) == {}
    assert duplicate_keys(path) == {}
    # the deleted records: gone from the final tables, kept in the raw history
    raw = "airbyte_internal.raw_sales_raw__stream_salesorderdetail"
    held = query(path, f"select count(*) from {raw} "
                       "where _airbyte_data._ab_cdc_deleted_at is not null")[0][0]  # fmt: skip
    assert held >= 1
    assert query(path, "select count(*) from raw_sales.salesorderdetail "
                       "where _ab_cdc_deleted_at is not null")[0][0] == 0  # fmt: skip
    # nothing new: nothing read, the slot at the WAL position of the run
    third = sync(cdc_source, path)
    assert third.rows_read == 0
    assert mismatches(cdc_source, path) == {}


def test_every_kind_of_value_and_change_lands_as_the_source_holds_it(cdc_source, tmp_path):
    """The vectorised pgoutput parser (many changes at once): NULLs, multi-byte UTF-8, quotes,
    commas and newlines in text, XML, an update carrying the old row (replica identity full),
    deletes, an update of the key among them, in one transaction and across
    several; the warehouse equals the source and the raw history keeps every version."""
    path = tmp_path / "w.duckdb"
    sync(cdc_source, path)
    people = "select businessentityid from person.person order by 1 limit 5"
    lines = "select salesorderdetailid from sales.salesorderdetail order by 1"
    execute(
        cdc_source,
        "alter table sales.creditcard replica identity full",
        f"update person.person set middlename = null, suffix = 'Jr.', title = null, "
        f"firstname = 'Zoë \"q\", a' || chr(10) || 'b ✓', additionalcontactinfo = "
        f"'<a>é</a>' where businessentityid in ({people})",
        "update sales.creditcard set cardtype = 'Vistä', expyear = expyear + 1 "
        "where creditcardid in (select creditcardid from sales.creditcard order by 1 limit 3)",
        f"update sales.salesorderdetail set unitpricediscount = 0.5 "
        f"where salesorderdetailid in ({lines} limit 2)",
        f"delete from sales.salesorderdetail where salesorderdetailid in ({lines} limit 3)",
        f"update sales.salesorderdetail set salesorderdetailid = salesorderdetailid + 1000000 "
        f"where salesorderdetailid in ({lines} offset 5 limit 1)",  # the old key's delete too
    )
    execute(cdc_source, "update person.person set lastname = '' where businessentityid = "
                        "(select min(businessentityid) from person.person)")  # fmt: skip
    second = sync(cdc_source, path)
    assert second["person"].rows_read == 6 and second["creditcard"].rows_read == 3
    assert second["salesorderdetail"].rows_read == 7
    assert mismatches(cdc_source, path) == {}
    assert duplicate_keys(path) == {}
    raw = "airbyte_internal.raw_person_raw__stream_person"
    lsn = "_airbyte_data._ab_cdc_lsn"
    names = "_airbyte_data.firstname, _airbyte_data.middlename"
    later = f"{lsn} > (select min({lsn}) from {raw})"
    versions = query(path, f"select {names} from {raw} where {later} order by {lsn}")
    assert versions[0] == ('Zoë "q", a\nb ✓', None) and len(versions) == 6


def test_an_update_of_the_primary_key_deletes_the_old_key(cdc_source, tmp_path):
    """An UPDATE that changes a row's key is, as in Debezium (Airbyte's CDC), a delete of the
    old key then the row under the new one: the old key leaves the final table (its delete
    record stays in the raw history), under the default replica identity (old key, 'K') and
    under FULL (old row, 'O'); a key freed in a transaction and taken again in it keeps the
    later row; a FULL update that keeps the key writes no delete record."""
    path = tmp_path / "w.duckdb"
    sync(cdc_source, path)
    lines = "select salesorderdetailid from sales.salesorderdetail order by 1"
    card = (
        "(select min(creditcardid) from sales.creditcard where creditcardid not in "
        "(select creditcardid from sales.salesorderheader where creditcardid is not null))"
    )
    first, second = (r[0] for r in query_source(cdc_source, f"{lines} limit 2"))
    execute(
        cdc_source,
        "alter table sales.creditcard replica identity full",
        f"update sales.salesorderdetail set salesorderdetailid = salesorderdetailid + 1000000 "
        f"where salesorderdetailid in ({lines} offset 2 limit 2)",
        # a key freed and taken again in one transaction: `first` moves away, `second` to it
        f"update sales.salesorderdetail set salesorderdetailid = 2000000 "
        f"where salesorderdetailid = {first}",
        f"update sales.salesorderdetail set salesorderdetailid = {first}, orderqty = 77 "
        f"where salesorderdetailid = {second}",
        f"update sales.creditcard set creditcardid = 3000000 where creditcardid = {card}",
        "update sales.creditcard set expyear = expyear + 1 where creditcardid = "
        "(select max(creditcardid) from sales.creditcard where creditcardid < 3000000)",
    )
    sync(cdc_source, path)
    assert mismatches(cdc_source, path) == {}
    assert duplicate_keys(path) == {}
    detail = "airbyte_internal.raw_sales_raw__stream_salesorderdetail"
    card_raw = "airbyte_internal.raw_sales_raw__stream_creditcard"
    deleted = "_airbyte_data._ab_cdc_deleted_at is not null"
    assert query(path, f"select count(*) from {detail} where {deleted}")[0][0] == 4
    assert query(path, f"select count(*) from {card_raw} where {deleted}")[0][0] == 1
    assert query(path, "select orderqty from raw_sales.salesorderdetail "
                       f"where salesorderdetailid = {first}") == [(77,)]  # fmt: skip


def query_source(dsn: str, statement: str) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        return conn.execute(statement).fetchall()


def adw(env: dict, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(Path(sys.executable).parent / "adw"), *args], env=env, capture_output=True,
        text=True, timeout=600,
    )  # fmt: skip


@pytest.mark.slow  # 27 s at load 4: each step an adw process
def test_cli_journey_setup_replicate_deletes_teardown(replica_source, tmp_path):
    """What a user types: `adw replicate --cdc-setup`, `adw source simulate --deletes`,
    `adw replicate`, `adw replicate --cdc-teardown`; the warehouse equals the source."""
    with psycopg.connect(replica_source, autocommit=True) as conn:  # a superuser makes the role
        cdc_slot.ensure_cdc_role(conn, connection_limit=8)
    env = {**os.environ, "ADW_REPLICATION_METHOD": "cdc",
           "ADW_REPLICATION_CDC_DSN": cdc_dsn(replica_source)}  # fmt: skip
    path = Path(os.environ["ADW_HOME"]) / "warehouse.duckdb"
    without_setup = adw(env, "replicate")
    assert without_setup.returncode == 1
    assert "adw replicate --cdc-setup" in without_setup.stderr
    assert "Traceback" not in without_setup.stderr
    setup = adw(env, "replicate", "--cdc-setup")
    assert setup.returncode == 0, setup.stderr
    assert "publication adw_cdc" in setup.stderr
    assert mismatches(replica_source, path) == {}
    sim = adw(env, "source", "simulate", "--orders", "5", "--updates", "10", "--deletes", "9")
    assert sim.returncode == 0, sim.stderr
    assert "orders_deleted" in sim.stdout
    again = adw(env, "replicate")
    assert again.returncode == 0, again.stderr
    assert mismatches(replica_source, path) == {}
    down = adw(env, "replicate", "--cdc-teardown")
    assert down.returncode == 0 and "slot adw_cdc" in down.stderr, down.stderr
    with psycopg.connect(replica_source) as conn:
        assert conn.execute("select count(*) from pg_replication_slots").fetchone()[0] == 0


def _raw_versions_held_twice(path) -> dict[str, int]:
    """Raw history records written twice (same key, same commit LSN): a change applied twice."""
    out = {}
    keys = {"salesorderdetail": "salesorderdetailid", "salesorderheader": "salesorderid",
            "creditcard": "creditcardid"}  # fmt: skip
    for table, pk in keys.items():
        raw = f"airbyte_internal.raw_sales_raw__stream_{table}"
        version = f"_airbyte_data.{pk}, _airbyte_data._ab_cdc_lsn"
        deleted = "_airbyte_data._ab_cdc_deleted_at is null"
        n = query(path, f"select count(*) from (select 1 from {raw} group by {version}, "
                        f"{deleted} having count(*) > 1)")[0][0]  # fmt: skip
        if n:
            out[table] = n
    return out


@pytest.mark.slow
def test_kill_9_at_any_point_then_rerun_applies_every_change_exactly_once(cdc_source, adw_home,
                                                                        monkeypatch):  # fmt: skip
    from adw_assets.lib.replication import replicate_from_settings
    from adw_assets.lib.replication.faults import MARKER
    from adw_assets.settings import get_settings
    from tests.lib.replication.test_reliability import (
        _kill,
        _kill_if_running,
        _start,
        _wait_for,
    )

    monkeypatch.setenv("ADW_REPLICATION_METHOD", "cdc")
    monkeypatch.setenv("ADW_REPLICATION_CDC_DSN", cdc_dsn(cdc_source))
    monkeypatch.setenv("ADW_REPLICATION_RAW_HISTORY", "true")  # each version kept once, too
    get_settings.cache_clear()
    wh = adw_home / "warehouse.duckdb"
    trials = [
        "stream_start@salesorderdetail",  # the initial snapshot, transaction just opened
        "batch_written@salesorderdetail",  # a resync's snapshot (--full-refresh), mid-stream
        "batch_written@salesorderdetail",  # the changes, mid-stream
        "before_commit@salesorderheader",  # changes and state written, not committed
        "after_commit@salesorderdetail",  # between two streams
        "after_commit@cdc_ack",  # every stream committed, the slot not acknowledged
        "after_commit@cdc_ack",
        None,  # a random moment
    ]
    for n, pause in enumerate(trials):
        if n >= 2:
            simulate(cdc_source, orders=15, updates=30, deletes=9, seed=n, progress=lambda m: None)
        proc = _start(pause, full=n == 1)
        if pause:
            _wait_for(proc, MARKER)
            _kill(proc)
        else:
            _wait_for(proc, "] ")
            time.sleep(random.Random(n).uniform(0.0, 0.3))
            _kill_if_running(proc)
        result = replicate_from_settings(get_settings())
        assert result.ok, result.failed
        assert mismatches(cdc_source, wh) == {}, f"trial {n} ({pause})"
        assert duplicate_keys(wh) == {}
        assert _raw_versions_held_twice(wh) == {}, f"trial {n} ({pause})"
