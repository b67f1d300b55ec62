"""Parallel range reads of a large table's full sync: one snapshot, every row once."""

from __future__ import annotations

import psycopg
import pytest

from adw_assets.lib.replication import DuckDBDestination, ranges, reader, replicate
from adw_assets.lib.replication.catalog import discover
from adw_assets.lib.source.catalog import TABLES_BY_NAME
from adw_assets.lib.source.simulate import simulate
from tests.lib.replication.fixtures import (
    duplicate_keys,
    execute,
    mismatches,
    query,
    replication_dsn,
)

ORDER_LINES = "sales.salesorderdetail"


@pytest.mark.parametrize("pages,ranges_", [(0, 4), (1, 4), (7, 3), (100, 8), (10, 10), (3, 9)])
def test_the_ranges_cover_every_page_once_and_the_last_is_open(pages, ranges_):
    bounds = ranges.range_bounds(pages, ranges_)
    assert bounds[0][0] == 0 and bounds[-1][1] is None
    assert all(a < b for a, b in bounds[:-1])
    assert [b for _, b in bounds[:-1]] == [a for a, _ in bounds[1:]]  # contiguous
    assert len(bounds) <= max(1, min(ranges_, pages))


def _keys_and_cursor(batches) -> tuple[list[tuple], object]:
    keys, top = [], None
    for batch in batches:
        ids = zip(batch["salesorderid"].to_pylist(), batch["salesorderdetailid"].to_pylist(),
                  strict=True)  # fmt: skip
        keys += list(ids)
        m = max(batch["modifieddate"].to_pylist())
        top = m if top is None else max(top, m)
    return keys, top


def test_a_parallel_read_sees_one_snapshot_while_rows_move(replica_source):
    """Every order line is updated (each row moves to a new page at the end of the table)
    after the readers started: the ranges read after it still see the snapshot's rows, so
    every key comes once, with its old values. Read with one autocommit COPY per range, the
    ranges read after the update would hold the new versions too (keys twice)."""
    dsn = replication_dsn(replica_source)
    with psycopg.connect(replica_source) as owner:
        before = owner.execute(
            f"select count(*), max(modifieddate) from {ORDER_LINES}"
        ).fetchone()  # fmt: skip
    pg = reader.connect(dsn)
    try:
        stream = discover(pg, [ORDER_LINES])[ORDER_LINES]
        size = pg.execute(f"select pg_relation_size('{ORDER_LINES}') / 8192").fetchone()[0]
        assert size >= 8  # enough pages for many ranges
        batches = ranges.read_parallel(
            pg, lambda: reader.connect(dsn), stream, 10, 2, ranges=64
        )  # fmt: skip
        first = next(batches)
        execute(replica_source, f"update {ORDER_LINES} set modifieddate = modifieddate + '1 day'")
        keys, top = _keys_and_cursor([first, *batches])
    finally:
        pg.close()
    assert len(keys) == len(set(keys)) == before[0]
    assert top == before[1]


def test_closing_a_parallel_read_early_stops_its_readers(replica_source):
    dsn = replication_dsn(replica_source)
    pg = reader.connect(dsn)
    opened: list[psycopg.Connection] = []

    def connect() -> psycopg.Connection:
        opened.append(reader.connect(dsn))
        return opened[-1]

    try:
        stream = discover(pg, [ORDER_LINES])[ORDER_LINES]
        batches = ranges.read_parallel(pg, connect, stream, 10, 3, ranges=32)
        next(batches)
        batches.close()
        assert len(opened) == 2 and all(c.closed for c in opened)
        # the worker's connection is out of the snapshot's transaction and usable again
        assert pg.info.transaction_status == psycopg.pq.TransactionStatus.IDLE
        assert pg.execute("select 1").fetchone() == (1,)
    finally:
        pg.close()


def test_a_full_sync_in_ranges_equals_the_source_and_a_single_copy(
    replica_source, adw_home, monkeypatch
):
    calls: list[str] = []
    real = ranges.read_parallel

    def counted(pg, connect, stream, *args, **kwargs):
        calls.append(stream.name)
        return real(pg, connect, stream, *args, **kwargs)

    monkeypatch.setattr(ranges, "read_parallel", counted)
    dsn = replication_dsn(replica_source)
    one, many = adw_home / "one.duckdb", adw_home / "many.duckdb"
    single = replicate(dsn, DuckDBDestination(one), batch_rows=300, range_readers=1)
    parallel = replicate(dsn, DuckDBDestination(many), batch_rows=300, range_readers=3,
                         range_min_bytes=0)  # fmt: skip
    assert single.ok and parallel.ok, (single.failed, parallel.failed)
    assert sorted(calls) == sorted(t for t in TABLES_BY_NAME)  # every stream, in ranges
    for path in (one, many):
        assert mismatches(replica_source, path) == {}
        assert duplicate_keys(path) == {}
    for a, b in zip(single.streams, parallel.streams, strict=True):
        assert (a.rows_read, a.rows_inserted, a.cursor) == (b.rows_read, b.rows_inserted, b.cursor)

    # incremental syncs read with one COPY, as before; a full refresh in ranges again
    calls.clear()
    simulate(replica_source, orders=20, updates=50, seed=3, progress=lambda m: None)
    assert replicate(dsn, DuckDBDestination(many), range_readers=3, range_min_bytes=0).ok
    assert calls == [] and mismatches(replica_source, many) == {}
    refresh = replicate(dsn, DuckDBDestination(many), streams=[ORDER_LINES], full_refresh=True,
                        range_readers=3, range_min_bytes=0)  # fmt: skip
    assert refresh.ok and calls == [ORDER_LINES]
    assert refresh[ORDER_LINES].generation == 1
    assert mismatches(replica_source, many) == {} and duplicate_keys(many) == {}
    state = query(many, "select cursor_value from airbyte_internal._adw_state "
                        "where name = 'salesorderdetail'")  # fmt: skip
    top = query(many, "select max(modifieddate) from raw_sales.salesorderdetail")
    assert state == top


def test_a_small_table_one_reader_or_an_old_server_read_with_one_copy(replica_source):
    with reader.connect(replication_dsn(replica_source)) as pg:
        stream = discover(pg, [ORDER_LINES])[ORDER_LINES]
    assert ranges.use_ranges(stream, 2, 0, 160000)
    assert not ranges.use_ranges(stream, 2, stream.estimated_bytes + 1, 160000)
    assert not ranges.use_ranges(stream, 1, 0, 160000)
    assert not ranges.use_ranges(stream, 2, 0, 130000)  # no TID range scan before 14


def test_a_range_reader_losing_its_connection_is_retried_from_the_old_state(
    replica_source, adw_home
):
    dsn = replication_dsn(replica_source)
    wh = adw_home / "warehouse.duckdb"
    cut: list[str] = []

    def progress(event) -> None:  # mid-read: every connection of the readers dies
        if event.phase == "batch" and event.stream == ORDER_LINES and not cut:
            cut.append(event.stream)
            with psycopg.connect(replica_source, autocommit=True) as conn:
                conn.execute(
                    "select pg_terminate_backend(pid) from pg_stat_activity "
                    "where usename = 'adw_replicator' and pid <> pg_backend_pid()"
                )

    result = replicate(dsn, DuckDBDestination(wh), streams=[ORDER_LINES], batch_rows=100,
                       range_readers=3, range_min_bytes=0, backoff_seconds=0.05,
                       progress=progress)  # fmt: skip
    assert cut and result.ok, result.failed
    assert result[ORDER_LINES].attempts == 2
    assert mismatches(replica_source, wh, tables=[TABLES_BY_NAME[ORDER_LINES]]) == {}


def test_readers_beyond_the_roles_connection_limit_are_left_out(replica_source, adw_home):
    """A source whose role allows fewer connections than the readers (an external server set
    up for an older adw): the stream is read by the readers it could open, not failed."""
    role = "ranges_limited"
    execute(
        replica_source,
        f"create role {role} login connection limit 2",
        f"grant usage on schema person, production, sales to {role}",
        f"grant select on all tables in schema person, production, sales to {role}",
    )
    from adw_assets.lib.source.server import dsn_with_user

    wh = adw_home / "warehouse.duckdb"
    try:
        result = replicate(dsn_with_user(replica_source, role), DuckDBDestination(wh),
                           streams=[ORDER_LINES], workers=1, range_readers=4,
                           range_min_bytes=0, retries=0)  # fmt: skip
        assert result.ok, result.failed
        assert mismatches(replica_source, wh, tables=[TABLES_BY_NAME[ORDER_LINES]]) == {}
    finally:
        execute(replica_source, f"drop owned by {role}", f"drop role {role}")
