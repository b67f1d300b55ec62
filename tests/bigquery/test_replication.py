"""The embedded replicator writing BigQuery (the emulator): v2 layout, exact copies, incremental
merges, a kill at every pause point re-runs safely, and the Dagster assets and checks on
BigQuery."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import date

import dagster as dg
import psycopg
import pytest

from adw_assets.lib.replication import replicate_from_settings
from adw_assets.lib.replication.faults import MARKER, POINTS
from adw_assets.lib.replication.state import STATE_TABLE
from adw_assets.lib.source.catalog import TABLES
from adw_assets.lib.source.seed import seed_database
from adw_assets.lib.warehouse import bigquery as bq
from adw_assets.settings import get_settings
from tests.bigquery.helpers import bq_rows, normalize, source_columns, source_rows

pytestmark = pytest.mark.bigquery

TODAY = date(2026, 1, 15)


@pytest.fixture
def seeded(source_db, bq_warehouse) -> str:
    seed_database(source_db, scale=0.01, seed=11, today=TODAY, progress=lambda _m: None)
    return source_db


def assert_copies_source(dsn: str, client) -> None:
    for t in TABLES:
        cols = source_columns(dsn, t.schema, t.name)
        expected = normalize(source_rows(dsn, t.schema, t.name, cols))
        actual = normalize(bq_rows(client, "raw_" + t.schema, t.name, cols))
        assert actual == expected, f"{t.qualified} differs from the source"


def test_replicates_the_source_exactly_in_the_v2_layout(seeded, bq_client):
    result = replicate_from_settings(get_settings(), raw_history=True)
    assert result.ok, result.failed
    assert {s.rows_inserted for s in result.streams} != {0}
    assert_copies_source(seeded, bq_client)

    header = bq.table_columns(bq_client, "raw_sales", "salesorderheader")
    assert header["_airbyte_raw_id"] == "STRING"
    assert header["_airbyte_extracted_at"] == "TIMESTAMP"
    # JSON on BigQuery; the emulator reports its JSON columns as STRING (docs/production.md)
    assert header["_airbyte_meta"] in ("JSON", "STRING")
    assert header["_airbyte_generation_id"] == "INT64"
    # as Airbyte's BigQuery destination types them
    assert header["modifieddate"] == "DATETIME" and header["totaldue"] == "NUMERIC"
    assert header["orderdate"] == "DATETIME" and header["onlineorderflag"] == "BOOL"
    raw = bq.table_ref(bq_client.project, "airbyte_internal", "raw_sales_raw__stream_customer")
    final = bq.table_ref(bq_client.project, "raw_sales", "customer")
    (raw_rows, orphans), = bq.run(
        bq_client,
        f"select (select count(*) from {raw}), (select count(*) from {final} f where not "
        f"exists (select 1 from {raw} r where r._airbyte_raw_id = f._airbyte_raw_id))",
    )  # fmt: skip
    assert raw_rows == result["customer"].rows_read and orphans == 0
    sync_ids = bq.run(
        bq_client, f"select distinct json_value(_airbyte_meta, '$.sync_id') from {final}"
    )
    assert sync_ids == [(str(result.sync_id),)]
    states = bq.run(
        bq_client,
        f"select count(*), min(sync_id) from "
        f"{bq.table_ref(bq_client.project, 'airbyte_internal', STATE_TABLE)}",
    )
    assert states == [(12, result.sync_id)]


def test_incremental_sync_merges_updates_and_inserts(seeded, bq_client):
    from adw_assets.lib.source.simulate import simulate

    assert replicate_from_settings(get_settings()).ok
    simulate(seeded, orders=20, updates=15, seed=3, progress=lambda _m: None)
    second = replicate_from_settings(get_settings())
    assert second.ok, second.failed
    header = second["salesorderheader"]
    assert not header.full_refresh and header.rows_inserted == 20 and header.rows_updated >= 1
    assert_copies_source(seeded, bq_client)

    third = replicate_from_settings(get_settings())  # nothing changed: the lag window re-read
    assert third.ok and sum(s.rows_inserted + s.rows_updated for s in third.streams) == 0


def test_full_refresh_rebuilds_with_a_new_generation(seeded, bq_client):
    assert replicate_from_settings(get_settings(), streams=["store"]).ok
    with psycopg.connect(seeded) as conn:  # a hard delete: only a full refresh sees it
        conn.execute(
            "delete from sales.store where businessentityid = (select max(businessentityid) "
            "from sales.store s where not exists (select 1 from sales.customer c where "
            "c.storeid = s.businessentityid))"
        )
    result = replicate_from_settings(get_settings(), streams=["store"], full_refresh=True)
    assert result.ok and result["store"].full_refresh and result["store"].generation == 1
    cols = source_columns(seeded, "sales", "store")
    assert normalize(bq_rows(bq_client, "raw_sales", "store", cols)) == normalize(
        source_rows(seeded, "sales", "store", cols)
    )


_KILLED = ["salesorderheader", "customer"]
_CHILD = (
    "from adw_assets.lib.replication import replicate_from_settings;"
    "from adw_assets.settings import get_settings;"
    f"r = replicate_from_settings(get_settings(), streams={_KILLED!r}, workers=1);"
    "raise SystemExit(0 if r.ok else 1)"
)


# range reads start only for tables of ADW_REPLICATION_RANGE_MIN_MB and more (none here); their
# kill trials are tests/lib/replication/test_ranges_kill.py
@pytest.mark.slow  # kill -9 trials
@pytest.mark.parametrize("point", [p for p in POINTS if p != "range_read"])
def test_a_kill_at_any_point_keeps_data_and_state_together_and_the_rerun_catches_up(
    seeded, bq_client, point
):
    """The engine's pause points, on BigQuery as on DuckDB (tests/lib/replication)."""
    from adw_assets.lib.source.simulate import simulate

    assert replicate_from_settings(get_settings(), streams=_KILLED).ok
    state_table = bq.table_ref(bq_client.project, "airbyte_internal", STATE_TABLE)
    header = bq.table_ref(bq_client.project, "raw_sales", "salesorderheader")
    state_sql = f"select sync_id, cursor_value from {state_table} where name = 'salesorderheader'"
    rows_sql = f"select count(*), max(modifieddate) from {header}"
    before, rows_before = bq.run(bq_client, state_sql), bq.run(bq_client, rows_sql)
    simulate(seeded, orders=10, updates=10, seed=5, progress=lambda _m: None)
    env = {**os.environ, "ADW_TEST_PAUSE_AT": f"{point}@salesorderheader"}
    child = subprocess.Popen([sys.executable, "-c", _CHILD], env=env, stderr=subprocess.PIPE,
                             text=True)  # fmt: skip
    try:
        for line in child.stderr:
            if line.startswith(MARKER):
                break
        else:
            pytest.fail(f"the replicator never paused at {point} (exit {child.wait()})")
        child.send_signal(signal.SIGKILL)
    finally:
        child.wait(timeout=60)
    after, rows_after = bq.run(bq_client, state_sql), bq.run(bq_client, rows_sql)
    if point == "after_commit":  # committed: the new rows with the new state
        assert after != before and rows_after != rows_before
    else:  # not committed: neither its state nor its rows moved
        assert after == before and rows_after == rows_before
    assert after[0][1] == rows_after[0][1]  # the saved cursor is the newest row held
    result = replicate_from_settings(get_settings(), streams=_KILLED)  # the next run catches up
    assert result.ok, result.failed
    for t in TABLES:
        if t.name in _KILLED:
            cols = source_columns(seeded, t.schema, t.name)
            assert normalize(bq_rows(bq_client, "raw_" + t.schema, t.name, cols)) == normalize(
                source_rows(seeded, t.schema, t.name, cols)
            )


def test_dagster_assets_and_checks_run_on_bigquery(seeded, bq_client):
    from tests.support.dagster import definitions, materialize

    defs = definitions()
    graph = defs.resolve_asset_graph()
    replicated = [k for k in graph.get_all_asset_keys() if graph.get(k).group_name == "replication"]
    assert {kind for k in replicated for kind in graph.get(k).kinds} == {"bigquery"}
    result = materialize(replicated, defs=defs)
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert len(checks) == 24 and all(c.passed for c in checks), [
        (c.check_name, c.metadata) for c in checks if not c.passed
    ]
    counts = next(c for c in checks if c.check_name == "customer_matches_source_row_count")
    assert "last_modified" in counts.metadata

    # a duplicated key fails the primary-key check, read on BigQuery
    store = bq.table_ref(bq_client.project, "raw_sales", "store")
    bq.run(bq_client, f"insert into {store} select * from {store} limit 1")
    checks_only = materialize(checks_of=[dg.AssetKey(["raw_sales", "store"])], defs=defs)
    by_name = {c.check_name: c for c in checks_only.get_asset_check_evaluations()}
    assert not by_name["store_primary_key_is_unique_and_not_null"].passed


def test_without_raw_history_only_the_final_tables_are_written(seeded, bq_client):
    result = replicate_from_settings(get_settings(), streams=["sales.customer"])  # the default
    assert result.ok, result.failed
    assert bq.table_exists(bq_client, "raw_sales", "customer")
    assert not bq.table_exists(bq_client, "airbyte_internal", "raw_sales_raw__stream_customer")
