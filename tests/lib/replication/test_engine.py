"""The engine against a real PostgreSQL source and a real DuckDB file: layout and semantics."""

from __future__ import annotations

import json
from types import SimpleNamespace

import duckdb
import pytest

from adw_assets.errors import ConfigError
from adw_assets.lib.replication import (
    DuckDBDestination,
    replicate,
    replicate_from_settings,
    resolve_streams,
)
from adw_assets.lib.replication.duckdb_load import DuckDBStreamLoad
from adw_assets.lib.source.catalog import TABLES
from adw_assets.lib.source.simulate import simulate
from adw_assets.settings import get_settings
from tests.lib.replication.fixtures import (
    duplicate_keys,
    execute,
    mismatches,
    query,
    replication_dsn,
    sync_keeping_raw_history,
)


@pytest.fixture
def wh(adw_home):
    return adw_home / "warehouse.duckdb"


def test_full_sync_copies_every_table_exactly_in_the_v2_layout(replica_source, wh):
    result = sync_keeping_raw_history(replication_dsn(replica_source), wh)
    assert result.ok, result.failed
    assert [s.stream for s in result.streams] == [t.qualified for t in TABLES]
    assert mismatches(replica_source, wh) == {}
    header = result["sales.salesorderheader"]
    assert header.full_refresh and header.generation == 0 and header.sync_id == 1
    assert header.rows_read == header.rows_inserted > 0 and header.rows_updated == 0

    cols = dict(
        query(
            wh,
            "select column_name, data_type from information_schema.columns "
            "where table_schema = 'raw_sales' and table_name = 'salesorderheader'",
        )
    )
    assert cols["subtotal"] == "DECIMAL(19,4)" and cols["orderdate"] == "TIMESTAMP"
    assert cols["onlineorderflag"] == "BOOLEAN" and cols["rowguid"] == "VARCHAR"
    assert cols["_airbyte_extracted_at"] == "TIMESTAMP WITH TIME ZONE"
    assert cols["_airbyte_meta"] == "JSON" and cols["_airbyte_generation_id"] == "BIGINT"
    first = list(cols)[:4]
    assert first == [
        "_airbyte_raw_id",
        "_airbyte_extracted_at",
        "_airbyte_meta",
        "_airbyte_generation_id",
    ]

    raw = "airbyte_internal.raw_sales_raw__stream_salesorderheader"
    ((n_raw, n_joined),) = query(
        wh,
        f"select count(*), count(f.salesorderid) from {raw} r left join "
        "raw_sales.salesorderheader f using (_airbyte_raw_id)",
    )
    assert n_raw == n_joined == header.rows_read
    ((ids, distinct, versions),) = query(
        wh, f"select count(*), count(distinct _airbyte_raw_id), min(uuid_extract_version("
        f"_airbyte_raw_id)) from {raw}",
    )  # fmt: skip
    assert ids == distinct and versions == 4  # random version-4 UUIDs, one per record
    data, meta = query(wh, f"select to_json(_airbyte_data), _airbyte_meta from {raw} limit 1")[0]
    assert json.loads(meta) == {"changes": [], "sync_id": 1}
    record = json.loads(data)
    assert set(record) == {c for c in cols if not c.startswith("_airbyte")}
    # the raw record holds the same typed values as the final row it became
    ((differ,),) = query(
        wh,
        f"select count(*) from {raw} r join raw_sales.salesorderheader f using (_airbyte_raw_id) "
        "where r._airbyte_data.totaldue is distinct from f.totaldue "
        "or r._airbyte_data.orderdate is distinct from f.orderdate "
        "or r._airbyte_data.rowguid is distinct from f.rowguid",
    )
    assert differ == 0
    # Namibia's code "NA" is a string, not NULL; char(n) padding is kept
    assert query(wh, "select count(*) from raw_person.countryregion where countryregioncode = 'NA'")
    assert query(wh, "select min(length(stateprovincecode)) from raw_person.stateprovince") == [
        (3,)
    ]
    state = query(
        wh, "select count(*), min(sync_id), max(generation_id) from airbyte_internal._adw_state"
    )
    assert state == [(12, 1, 0)]


def test_incremental_sync_brings_inserts_and_updates_without_duplicates(replica_source, wh):
    settings = get_settings()
    replicate_from_settings(settings)
    changes = simulate(replica_source, orders=20, updates=30, seed=3, progress=lambda m: None)
    assert changes
    result = replicate_from_settings(settings)
    assert result.ok
    assert mismatches(replica_source, wh) == {}
    assert duplicate_keys(wh) == {}
    header = result["salesorderheader"]
    assert header.rows_inserted == 20
    assert header.rows_updated >= 1
    assert not header.full_refresh and header.generation == 0 and header.sync_id == 2
    assert result["salesorderdetail"].rows_inserted > 0
    # the second sync read only the window around the cursor, not the whole table
    total = query(wh, "select count(*) from raw_sales.salesorderdetail")[0][0]
    assert result["salesorderdetail"].rows_read < total / 2


def test_noop_sync_rereads_only_the_lag_window_and_changes_nothing(replica_source, wh):
    dsn = replication_dsn(replica_source)
    sync_keeping_raw_history(dsn, wh)
    before = query(wh, "select _airbyte_raw_id from raw_sales.customer order by customerid")
    result = sync_keeping_raw_history(dsn, wh)
    assert result.ok
    assert all(s.rows_inserted == 0 and s.rows_updated == 0 for s in result.streams)
    assert query(wh, "select _airbyte_raw_id from raw_sales.customer order by customerid") == before
    # rows re-read exactly as the warehouse holds them are not appended to the raw history
    raw = query(wh, "select count(*) from airbyte_internal.raw_sales_raw__stream_customer")[0][0]
    assert result["customer"].rows_read > 0 and raw == len(before)
    # and nothing was committed: the state still names the first sync
    assert query(wh, "select distinct sync_id from airbyte_internal._adw_state") == [(1,)]


def test_rows_at_the_saved_cursor_are_not_missed(replica_source, wh):
    dsn = replication_dsn(replica_source)
    first = replicate(dsn, DuckDBDestination(wh), streams=["sales.creditcard"])
    cursor = first["creditcard"].cursor
    # a new row and a changed row, both committed after the sync with modifieddate == cursor
    execute(
        replica_source,
        "insert into sales.creditcard (cardtype, cardnumber, expmonth, expyear, modifieddate) "
        f"values ('Vista', '11112222333344', 1, 2030, '{cursor}')",
        "update sales.creditcard set cardtype = 'ColonialVoice', modifieddate = "
        f"'{cursor}' where creditcardid = (select min(creditcardid) from sales.creditcard)",
    )
    second = replicate(dsn, DuckDBDestination(wh), streams=["creditcard"], lag_seconds=0)
    assert second["creditcard"].rows_inserted == 1
    assert second["creditcard"].rows_updated == 1
    assert mismatches(replica_source, wh, tables=[TABLES[7]]) == {}


def test_a_row_changed_without_a_new_cursor_is_folded_in_once(replica_source, wh):
    # the merge reads the whole old row only where the cursor ties: there, content decides
    dsn = replication_dsn(replica_source)
    sync_keeping_raw_history(dsn, wh, streams=["sales.creditcard"])
    latest = "(select max(modifieddate) from sales.creditcard)"
    execute(
        replica_source,
        "update sales.creditcard set cardtype = case cardtype when 'Vista' then 'Distinguish' "
        "else 'Vista' end where creditcardid = "
        f"(select max(creditcardid) from sales.creditcard where modifieddate = {latest})",
    )
    raw = "select count(*) from airbyte_internal.raw_sales_raw__stream_creditcard"
    before = query(wh, raw)[0][0]
    second = sync_keeping_raw_history(dsn, wh, streams=["creditcard"])["creditcard"]
    assert second.rows_updated == 1 and second.rows_inserted == 0
    assert query(wh, raw)[0][0] == before + 1  # the changed row only, not the lag window
    assert mismatches(replica_source, wh, tables=[TABLES[7]]) == {}
    third = sync_keeping_raw_history(dsn, wh, streams=["creditcard"])["creditcard"]
    assert third.rows_read > 0 and third.rows_updated == 0 and query(wh, raw)[0][0] == before + 1


def test_late_committed_rows_inside_the_lag_window_are_caught(replica_source, wh):
    dsn = replication_dsn(replica_source)
    cursor = replicate(dsn, DuckDBDestination(wh), streams=["customer"])["customer"].cursor
    # a long transaction stamped its row 2 minutes before the cursor and committed later
    execute(
        replica_source,
        "insert into sales.customer (territoryid, modifieddate) "
        f"values (1, timestamp '{cursor}' - interval '2 minutes')",
    )
    missed = replicate(dsn, DuckDBDestination(wh), streams=["customer"], lag_seconds=60)["customer"]
    assert missed.rows_inserted == 0  # outside a 1-minute window: invisible, as in Airbyte
    caught = replicate(dsn, DuckDBDestination(wh), streams=["customer"], lag_seconds=300)[
        "customer"
    ]
    assert caught.rows_inserted == 1
    assert mismatches(replica_source, wh, tables=[TABLES[9]]) == {}
    assert caught.cursor == cursor  # the saved cursor never moves back


def test_the_greatest_cursor_wins(replica_source, wh):
    dsn = replication_dsn(replica_source)
    replicate(dsn, DuckDBDestination(wh), streams=["product"])
    execute(
        replica_source,
        "update production.product set listprice = listprice + 1, modifieddate = "
        "modifieddate - interval '1 second' where productid = (select max(productid) "
        "from production.product where modifieddate = (select max(modifieddate) "
        "from production.product))",
    )
    result = replicate(dsn, DuckDBDestination(wh), streams=["product"])["product"]
    # the older version was read again (lag window) but does not replace the newer row
    assert result.rows_read > 0 and result.rows_updated == 0


def test_composite_keys_dedupe_salesorderdetail(replica_source, wh):
    dsn = replication_dsn(replica_source)
    replicate(dsn, DuckDBDestination(wh), streams=["salesorderdetail"])
    execute(
        replica_source,
        "update sales.salesorderdetail set orderqty = orderqty + 1, modifieddate = now() "
        "where salesorderdetailid in (select min(salesorderdetailid) from "
        "sales.salesorderdetail group by salesorderid limit 5)",
    )
    result = replicate(dsn, DuckDBDestination(wh), streams=["salesorderdetail"])["salesorderdetail"]
    assert result.rows_updated == 5 and result.rows_inserted == 0
    assert mismatches(replica_source, wh, tables=[TABLES[11]]) == {}


def test_hard_deletes_stay_until_a_full_refresh_which_bumps_the_generation(replica_source, wh):
    dsn = replication_dsn(replica_source)
    execute(
        replica_source,
        "insert into sales.store (businessentityid, name) "
        "select max(businessentityid) + 1000, 'Closing Soon Bikes' from sales.store",
    )
    sync_keeping_raw_history(dsn, wh, streams=["store", "creditcard"])
    execute(replica_source, "delete from sales.store where name = 'Closing Soon Bikes'")
    sync_keeping_raw_history(dsn, wh, streams=["store"])
    assert "sales.store" in mismatches(replica_source, wh, tables=[TABLES[8]])
    result = sync_keeping_raw_history(
        dsn, wh, streams=["store", "creditcard"], full_refresh=["store"]
    )
    assert result["store"].generation == 1 and result["store"].full_refresh
    assert result["creditcard"].generation == 0 and not result["creditcard"].full_refresh
    assert mismatches(replica_source, wh, tables=[TABLES[7], TABLES[8]]) == {}
    gens = query(
        wh,
        "select _airbyte_generation_id, count(*) from "
        "airbyte_internal.raw_sales_raw__stream_store group by 1 order by 1",
    )
    assert [g for g, _ in gens] == [0, 1]  # the raw history keeps the older generation
    assert query(wh, "select distinct _airbyte_generation_id from raw_sales.store") == [(1,)]


def test_stream_names_resolve_bare_and_qualified():
    assert resolve_streams(["customer", "person.person"]) == ["sales.customer", "person.person"]
    assert len(resolve_streams(None)) == 12
    with pytest.raises(ConfigError, match="not a replicated stream"):
        resolve_streams(["sales.nope"])


def test_a_custom_prefix_names_the_namespaces(replica_source, wh):
    dsn = replication_dsn(replica_source)
    result = sync_keeping_raw_history(dsn, wh, prefix="src_", streams=["person"])
    assert result.ok
    assert query(wh, "select count(*) from src_person.person")[0][0] == result["person"].rows_read
    assert query(wh, "select count(*) from airbyte_internal.src_person_raw__stream_person")


def test_a_merge_out_of_duckdb_memory_says_so_and_what_to_raise(replica_source, wh):
    """DuckDB 2 refuses anything after a failed statement but a rollback: the stream's error
    is the statement's (out of memory), not the refused clean-up, and it names the setting."""
    dsn = replication_dsn(replica_source)
    assert replicate(dsn, DuckDBDestination(wh)).ok
    simulate(replica_source, orders=20, updates=30, seed=3, progress=lambda m: None)
    result = replicate(dsn, DuckDBDestination(wh, memory_limit="8MB"), workers=1)
    assert not result.ok
    errors = [s.error for s in result.streams if s.error]
    assert errors and all("Out of Memory" in e for e in errors), errors
    assert all("raise ADW_REPLICATION_MEMORY_LIMIT" in e for e in errors), errors
    assert not any("TransactionException" in e or "\n" in e for e in errors), errors
    # nothing half-applied: with memory again, the sync brings the warehouse to the source
    assert replicate(dsn, DuckDBDestination(wh)).ok
    assert mismatches(replica_source, wh) == {} and duplicate_keys(wh) == {}


def test_a_rollback_duckdb_refuses_does_not_reach_the_next_stream(replica_source, wh, monkeypatch):
    """DuckDB may refuse a rollback too (out of memory, seen under a 32MB limit): the failed
    stream's transaction stays open on its cursor. The streams after it, on the same worker,
    must not inherit it (they did: "Current transaction is aborted", for a stream that had
    done nothing wrong)."""
    dsn = replication_dsn(replica_source)

    real_rollback, real_write_state = DuckDBStreamLoad.rollback, DuckDBStreamLoad.write_state

    def refused_rollback(self):  # DuckDB refusing the statement, as it does out of memory
        cursor = self.con

        def execute(sql, *args):
            if sql == "rollback":
                raise duckdb.OutOfMemoryException("Out of Memory Error: failed to allocate data")
            return cursor.execute(sql, *args)

        self.con = SimpleNamespace(execute=execute, close=cursor.close)
        real_rollback(self)

    def fail(self, state):
        if state.stream == "person.address":
            raise RuntimeError("the stream fails before its commit")
        real_write_state(self, state)

    with monkeypatch.context() as m:
        m.setattr(DuckDBStreamLoad, "rollback", refused_rollback)
        m.setattr(DuckDBStreamLoad, "write_state", fail)
        result = replicate(dsn, DuckDBDestination(wh), workers=1)
    assert [s.stream for s in result.failed] == ["person.address"], [s.error for s in result.failed]
    others = [t for t in TABLES if t.qualified != "person.address"]
    assert mismatches(replica_source, wh, tables=others) == {}
    assert replicate(dsn, DuckDBDestination(wh)).ok
    assert mismatches(replica_source, wh) == {} and duplicate_keys(wh) == {}
