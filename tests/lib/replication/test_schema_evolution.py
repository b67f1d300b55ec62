"""Schema evolution: added, dropped, widened and incompatibly changed source columns."""

from __future__ import annotations

import pytest

from adw_assets.errors import AdwError
from adw_assets.lib.replication import DuckDBDestination, replicate
from adw_assets.lib.source.catalog import TABLES_BY_NAME
from tests.lib.replication.fixtures import (
    execute,
    mismatches,
    query,
    replication_dsn,
    sync_keeping_raw_history,
)


def execute_wh(wh, sql: str) -> None:
    import duckdb

    with duckdb.connect(str(wh)) as con:
        con.execute(sql)


@pytest.fixture
def wh(adw_home):
    return adw_home / "warehouse.duckdb"


def _types(wh, schema, table) -> dict[str, str]:
    return dict(
        query(
            wh,
            "select column_name, data_type from information_schema.columns "
            "where table_schema = ? and table_name = ?",
            [schema, table],
        )
    )


def test_a_new_source_column_is_added_with_older_rows_null(replica_source, wh):
    dsn = replication_dsn(replica_source)
    sync_keeping_raw_history(dsn, wh, streams=["customer"])
    execute(
        replica_source,
        "alter table sales.customer add column loyaltytier varchar(10)",
        "update sales.customer set loyaltytier = 'gold', modifieddate = now() "
        "where customerid in (select customerid from sales.customer order by customerid limit 3)",
    )
    result = sync_keeping_raw_history(dsn, wh, streams=["customer"])["customer"]
    assert result.ok and result.rows_updated == 3
    assert result.schema_changes == ["added column loyaltytier VARCHAR"]
    assert _types(wh, "raw_sales", "customer")["loyaltytier"] == "VARCHAR"
    counts = query(
        wh, "select count(loyaltytier), count(*) - count(loyaltytier) from raw_sales.customer"
    )
    assert counts[0][0] == 3 and counts[0][1] > 0
    # the raw history's record gained the field too
    raw = "airbyte_internal.raw_sales_raw__stream_customer"
    assert query(wh, f"select count(_airbyte_data.loyaltytier) from {raw}") == [(3,)]
    assert mismatches(replica_source, wh, tables=[TABLES_BY_NAME["sales.customer"]]) == {}


def test_a_dropped_source_column_stays_and_is_null_from_then_on(replica_source, wh):
    dsn = replication_dsn(replica_source)
    sync_keeping_raw_history(dsn, wh, streams=["customer"])
    before = query(wh, "select count(territoryid) from raw_sales.customer")[0][0]
    execute(
        replica_source,
        "alter table sales.customer drop column territoryid",
        "update sales.customer set modifieddate = now() where customerid in "
        "(select customerid from sales.customer where storeid is null "
        "order by customerid limit 4)",
    )
    result = sync_keeping_raw_history(dsn, wh, streams=["customer"])["customer"]
    # the 4 changed rows, plus any row re-read in the lag window: all now carry a null
    assert result.ok and result.rows_updated >= 4
    assert "territoryid" in _types(wh, "raw_sales", "customer")
    after = query(wh, "select count(territoryid) from raw_sales.customer")[0][0]
    assert after == before - result.rows_updated
    assert mismatches(replica_source, wh, tables=[TABLES_BY_NAME["sales.customer"]]) == {}


def test_a_widened_column_is_altered_in_place(replica_source, wh):
    dsn = replication_dsn(replica_source)
    sync_keeping_raw_history(dsn, wh, streams=["product"])
    execute(
        replica_source,
        "alter table production.product alter column safetystocklevel type integer",
        "alter table production.product alter column standardcost type numeric(21,5)",
        "update production.product set safetystocklevel = 100000, modifieddate = now() "
        "where productid = (select min(productid) from production.product)",
    )
    result = sync_keeping_raw_history(dsn, wh, streams=["product"])["product"]
    assert result.ok, result.error
    types = _types(wh, "raw_production", "product")
    assert types["safetystocklevel"] == "INTEGER" and types["standardcost"] == "DECIMAL(21,5)"
    assert mismatches(replica_source, wh, tables=[TABLES_BY_NAME["production.product"]]) == {}


def test_an_incompatible_type_change_fails_that_stream_only_and_moves_no_state(replica_source, wh):
    dsn = replication_dsn(replica_source)
    sync_keeping_raw_history(dsn, wh, streams=["creditcard", "store"])
    state_before = query(wh, "select * from airbyte_internal._adw_state where name = 'creditcard'")
    execute(
        replica_source,
        "alter table sales.creditcard alter column cardnumber type bigint "
        "using cast(cardnumber as bigint)",
        "update sales.creditcard set modifieddate = now() where creditcardid < 5",
        "update sales.store set modifieddate = now() where businessentityid = "
        "(select min(businessentityid) from sales.store)",
    )
    result = sync_keeping_raw_history(dsn, wh, streams=["creditcard", "store"])
    assert not result.ok
    failed = result["creditcard"]
    assert failed.status == "failed"
    for word in ("sales.creditcard", "cardnumber", "VARCHAR", "bigint", "--full-refresh"):
        assert word in failed.error
    assert result["store"].ok and result["store"].rows_updated == 1
    assert (
        query(wh, "select * from airbyte_internal._adw_state where name = 'creditcard'")
        == state_before
    )
    with pytest.raises(AdwError, match="cardnumber"):
        result.raise_for_failures()
    # the documented way out: a full refresh rebuilds the table with the new type
    fixed = sync_keeping_raw_history(dsn, wh, streams=["creditcard"], full_refresh=True)
    fixed = fixed["creditcard"]
    assert fixed.ok and fixed.generation == 1
    assert _types(wh, "raw_sales", "creditcard")["cardnumber"] == "BIGINT"
    assert mismatches(replica_source, wh, tables=[TABLES_BY_NAME["sales.creditcard"]]) == {}
    # the raw history cannot hold the new type: generation 0's is kept as it was, renamed,
    # and a new one starts
    raw = "airbyte_internal.raw_sales_raw__stream_creditcard"
    ((rows, gen, text),) = query(
        wh,
        "select count(*), max(_airbyte_generation_id), typeof(any_value(_airbyte_data.cardnumber)) "
        f"from {raw}__before_gen1",
    )
    assert rows == state_before[0][7] and gen == 0 and text == "VARCHAR"
    assert query(wh, f"select distinct _airbyte_generation_id from {raw}") == [(1,)]
    assert query(wh, f"select typeof(any_value(_airbyte_data.cardnumber)) from {raw}") == [
        ("BIGINT",)
    ]


def test_a_json_raw_history_from_an_older_version_is_kept_and_a_typed_one_starts(
    replica_source, wh
):
    dsn = replication_dsn(replica_source)
    sync_keeping_raw_history(dsn, wh, streams=["store"])
    raw = "airbyte_internal.raw_sales_raw__stream_store"
    n = query(wh, f"select count(*) from {raw}")[0][0]
    # the layout written before _airbyte_data became a STRUCT
    execute_wh(
        wh,
        f"create or replace table {raw} as select _airbyte_raw_id, _airbyte_extracted_at, "
        "_airbyte_loaded_at, cast(to_json(_airbyte_data) as json) as _airbyte_data, "
        f"_airbyte_meta, _airbyte_generation_id from {raw}",
    )
    execute(replica_source, "update sales.store set modifieddate = now() where "
            "businessentityid = (select min(businessentityid) from sales.store)")  # fmt: skip
    assert sync_keeping_raw_history(dsn, wh, streams=["store"]).ok
    assert query(wh, f"select count(*), any_value(json_valid(_airbyte_data)) from {raw}__json") == [
        (n, True)
    ]
    assert query(wh, f"select count(*), count(_airbyte_data.name) from {raw}") == [(1, 1)]


def test_without_raw_history_only_the_final_tables_are_written(replica_source, wh):
    dsn = replication_dsn(replica_source)
    assert replicate(dsn, DuckDBDestination(wh), streams=["store"]).ok  # the default
    raw_tables = query(
        wh,
        "select count(*) from duckdb_tables() where schema_name = 'airbyte_internal' "
        "and table_name like '%raw__stream%'",
    )
    assert raw_tables == [(0,)]
    assert mismatches(replica_source, wh, tables=[TABLES_BY_NAME["sales.store"]]) == {}


def test_the_raw_history_setting_is_read_once_and_checked(monkeypatch):
    from adw_assets.errors import ConfigError
    from adw_assets.settings import get_settings

    get_settings.cache_clear()
    assert get_settings().replication_raw_history is False
    monkeypatch.setenv("ADW_REPLICATION_RAW_HISTORY", "true")
    get_settings.cache_clear()
    assert get_settings().replication_raw_history is True
    monkeypatch.setenv("ADW_REPLICATION_RAW_HISTORY", "sometimes")
    get_settings.cache_clear()
    with pytest.raises(ConfigError, match="ADW_REPLICATION_RAW_HISTORY='sometimes'"):
        get_settings()
    get_settings.cache_clear()
