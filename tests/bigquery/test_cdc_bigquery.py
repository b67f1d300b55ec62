"""Change data capture into BigQuery (the emulator): the initial snapshot, then the changes and
deletes from the write-ahead log, in the same layout as on DuckDB (``_ab_cdc_*`` columns, delete
records kept in the raw history and gone from the final tables); the applied LSN committed in
the transaction of the data, so a kill before the commit or between the commit and the slot's
acknowledgement applies every change exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import date

import psycopg
import pytest

from adw_assets.lib.replication import cdc_slot, replicate_from_settings
from adw_assets.lib.replication.faults import MARKER
from adw_assets.lib.replication.state import CDC_STATE_TABLE
from adw_assets.lib.source.catalog import TABLES
from adw_assets.lib.source.seed import seed_database
from adw_assets.lib.source.server import dsn_with_user
from adw_assets.lib.source.simulate import simulate
from adw_assets.lib.warehouse import bigquery as bq
from adw_assets.settings import CDC_ROLE, get_settings
from tests.bigquery.helpers import bq_rows, normalize, source_columns, source_rows

pytestmark = pytest.mark.bigquery
QUIET = {"progress": lambda _m: None}


@pytest.fixture
def cdc_source(source_db, bq_warehouse, monkeypatch) -> str:
    seed_database(source_db, scale=0.01, seed=13, today=date(2026, 1, 15), **QUIET)
    cdc_slot.setup(source_db, superuser_role=True, connection_limit=8)
    monkeypatch.setenv("ADW_REPLICATION_METHOD", "cdc")
    monkeypatch.setenv("ADW_REPLICATION_CDC_DSN", dsn_with_user(source_db, CDC_ROLE))
    monkeypatch.setenv("ADW_REPLICATION_RAW_HISTORY", "true")  # delete records, each version once
    get_settings.cache_clear()
    yield source_db
    cdc_slot.teardown(source_db)


def differing(dsn: str, client) -> list[str]:
    """The tables whose final table in BigQuery is not the source's rows."""
    out = []
    for t in TABLES:
        cols = source_columns(dsn, t.schema, t.name)
        expected = normalize(source_rows(dsn, t.schema, t.name, cols))
        if normalize(bq_rows(client, "raw_" + t.schema, t.name, cols)) != expected:
            out.append(t.qualified)
    return out


def sync():
    result = replicate_from_settings(get_settings(), retries=0)
    assert result.ok, result.failed
    return result


def count(client, sql: str) -> int:
    return bq.run(client, sql)[0][0]


def test_snapshot_then_changes_and_deletes_equal_the_source(cdc_source, bq_client):
    first = sync()
    assert first["salesorderheader"].full_refresh
    assert differing(cdc_source, bq_client) == []
    header = bq.table_columns(bq_client, "raw_sales", "salesorderheader")
    assert header["_ab_cdc_lsn"] == "INT64"
    assert header["_ab_cdc_updated_at"] == header["_ab_cdc_deleted_at"] == "TIMESTAMP"

    done = simulate(cdc_source, orders=10, updates=20, deletes=9, seed=3, **QUIET)
    assert done["orders_deleted"] >= 1 and done["order_lines_deleted"] >= 1
    second = sync()
    assert not second["salesorderheader"].full_refresh
    assert differing(cdc_source, bq_client) == []
    project = bq_client.project
    raw = bq.table_ref(project, "airbyte_internal", "raw_sales_raw__stream_salesorderdetail")
    final = bq.table_ref(project, "raw_sales", "salesorderdetail")
    deleted = "json_value(_airbyte_data, '$._ab_cdc_deleted_at') is not null"
    assert count(bq_client, f"select count(*) from {raw} where {deleted}") >= 1
    assert (
        count(bq_client, f"select count(*) from {final} where _ab_cdc_deleted_at is not null") == 0
    )
    state = bq.table_ref(project, "airbyte_internal", CDC_STATE_TABLE)
    lsns = dict(bq.run(bq_client, f"select name, lsn from {state} where slot = 'adw_cdc'"))
    assert len(lsns) == 12  # a stream with changes moved on; one without kept the snapshot's
    assert lsns["salesorderdetail"] > min(lsns.values())

    third = sync()  # nothing new: nothing read
    assert third.rows_read == 0
    assert differing(cdc_source, bq_client) == []


def test_an_update_of_the_primary_key_deletes_the_old_key(cdc_source, bq_client):
    """An UPDATE of a row's key: the old key's delete record, then the row under the new key
    (default replica identity, and FULL); a key freed and taken again in one transaction keeps
    the later row."""
    sync()
    lines = "select salesorderdetailid from sales.salesorderdetail order by 1"
    card = (
        "(select min(creditcardid) from sales.creditcard where creditcardid not in "
        "(select creditcardid from sales.salesorderheader where creditcardid is not null))"
    )
    with psycopg.connect(cdc_source) as conn:
        first, second = (r[0] for r in conn.execute(f"{lines} limit 2").fetchall())
        for statement in (
            "alter table sales.creditcard replica identity full",
            f"update sales.salesorderdetail set salesorderdetailid = salesorderdetailid + "
            f"1000000 where salesorderdetailid in ({lines} offset 2 limit 2)",
            f"update sales.salesorderdetail set salesorderdetailid = 2000000 "
            f"where salesorderdetailid = {first}",
            f"update sales.salesorderdetail set salesorderdetailid = {first}, orderqty = 77 "
            f"where salesorderdetailid = {second}",
            f"update sales.creditcard set creditcardid = 3000000 where creditcardid = {card}",
        ):
            conn.execute(statement)
    sync()
    assert differing(cdc_source, bq_client) == []
    project = bq_client.project
    raw = bq.table_ref(project, "airbyte_internal", "raw_sales_raw__stream_salesorderdetail")
    deleted = "json_value(_airbyte_data, '$._ab_cdc_deleted_at') is not null"
    assert count(bq_client, f"select count(*) from {raw} where {deleted}") == 4
    final = bq.table_ref(project, "raw_sales", "salesorderdetail")
    assert (
        count(bq_client, f"select orderqty from {final} where salesorderdetailid = {first}") == 77
    )


_CHILD = (
    "from adw_assets.lib.replication import replicate_from_settings;"
    "from adw_assets.settings import get_settings;"
    "r = replicate_from_settings(get_settings(), workers=1);"
    "raise SystemExit(0 if r.ok else 1)"
)


def _raw_versions_held_twice(client) -> int:
    """Raw history records of the order lines written twice (same key and commit LSN)."""
    raw = bq.table_ref(client.project, "airbyte_internal", "raw_sales_raw__stream_salesorderdetail")
    key = "json_value(_airbyte_data, '$.salesorderdetailid')"
    lsn = "json_value(_airbyte_data, '$._ab_cdc_lsn')"
    gone = "json_value(_airbyte_data, '$._ab_cdc_deleted_at') is null"
    return count(
        client,
        f"select count(*) from (select {key}, {lsn}, {gone} from {raw} "
        f"group by 1, 2, 3 having count(*) > 1)",
    )


@pytest.mark.slow  # kill -9 trials
@pytest.mark.parametrize("point", ["before_commit@salesorderdetail", "after_commit@cdc_ack"])
def test_a_kill_before_the_commit_or_the_acknowledgement_applies_every_change_once(
    cdc_source, bq_client, point
):
    sync()
    simulate(cdc_source, orders=8, updates=12, deletes=9, seed=5, **QUIET)
    env = {**os.environ, "ADW_TEST_PAUSE_AT": point}
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
    if point.startswith("before_commit"):  # not committed: the order lines are as they were
        assert "sales.salesorderdetail" in differing(cdc_source, bq_client)
    else:  # every stream committed, the slot not acknowledged: the data is already there
        assert differing(cdc_source, bq_client) == []
    rerun = sync()  # re-reads the slot from its acknowledged position, skips what is applied
    assert not rerun["salesorderdetail"].full_refresh
    assert differing(cdc_source, bq_client) == []
    assert _raw_versions_held_twice(bq_client) == 0
