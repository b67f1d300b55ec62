"""Parallel range reads: a large table's full sync read by a few concurrent COPYs.

One COPY per stream leaves a core idle while the largest table is read alone; DuckDB's
postgres reader splits a table into page ranges and reads them in parallel. This does the
same, inside **one consistent snapshot per stream**: the worker's connection opens a
``repeatable read`` transaction and exports its snapshot (``pg_export_snapshot``); each other
reader opens its own ``repeatable read`` transaction and imports it (``set transaction
snapshot``) before its first COPY. Every COPY then sees exactly the rows the single COPY would
have seen at that moment, whatever commits meanwhile: an update that moves a row to another
page cannot make it read twice or missed.

The table's pages ``[0, n)`` (``n`` from ``pg_relation_size`` taken inside the snapshot) are
cut into ranges of ``ctid >= '(a,0)' and ctid < '(b,0)'`` (PostgreSQL's TID range scan reads
only those pages); the last range has no upper bound, so pages added after ``n`` was taken
(which can only hold rows the snapshot does not see) are read too. Readers take ranges from a
shared queue (dense and sparse pages even out) and hand Arrow batches to the worker through a
bounded queue: memory stays at about one batch per reader plus the queue.
"""

from __future__ import annotations

import contextlib
import itertools
import queue
import threading
from collections.abc import Callable, Iterator

import psycopg
import pyarrow as pa
from psycopg import sql

from adw_assets.lib.replication import reader
from adw_assets.lib.replication.catalog import Stream

RANGES_PER_READER = 4
"""Ranges per reader: enough to even out uneven pages, few enough that each COPY is long."""

_DONE = object()


def range_bounds(pages: int, ranges: int) -> list[tuple[int, int | None]]:
    """``(first page, end page)`` of each range over ``pages`` pages, the last open-ended."""
    ranges = max(1, min(ranges, pages))
    step = -(-pages // ranges) if pages else 1
    starts = list(range(0, max(pages, 1), step))
    return [*itertools.pairwise(starts), (starts[-1], None)]


def range_query(stream: Stream, first: int, end: int | None) -> sql.Composed:
    """The reader's COPY of the rows on pages ``[first, end)`` (``end=None``: to the end)."""

    def tid(page: int) -> sql.Composed:
        return sql.SQL("cast({} as tid)").format(sql.Literal(f"({page},0)"))

    where = sql.SQL("ctid >= {}").format(tid(first))
    if end is not None:
        where = sql.SQL("{} and ctid < {}").format(where, tid(end))
    return reader.select_query(stream, None, where=where)


def _repeatable_read(conn: psycopg.Connection, snapshot: str | None = None) -> None:
    conn.execute("begin isolation level repeatable read read only")
    if snapshot is not None:
        conn.execute(sql.SQL("set transaction snapshot {}").format(sql.Literal(snapshot)))


def read_parallel(
    pg: psycopg.Connection,
    connect: Callable[[], psycopg.Connection],
    stream: Stream,
    batch_rows: int,
    readers: int,
    *,
    ranges: int | None = None,
    on_batch: Callable[[], None] | None = None,
) -> Iterator[pa.Table]:
    """All rows of ``stream`` as Arrow tables of at most ``batch_rows`` rows, read by
    ``readers`` concurrent COPYs (``pg`` and ``readers - 1`` connections from ``connect``) in
    one snapshot exported by ``pg``. ``ranges`` (default ``readers * RANGES_PER_READER``) cuts
    the pages; ``on_batch`` runs on a reader thread after each batch it read (the test pause
    point). Closing the generator early cancels the readers."""
    _repeatable_read(pg)
    conns = [pg]
    threads: list[threading.Thread] = []
    stop = threading.Event()
    try:
        snapshot, pages = pg.execute(
            "select pg_export_snapshot(), pg_relation_size(cast(%s as regclass)) "
            "/ current_setting('block_size')::bigint",
            (f'"{stream.schema}"."{stream.table}"',),
        ).fetchone()
        for _ in range(readers - 1):
            try:
                conn = connect()
            except psycopg.OperationalError:  # e.g. the role's connection limit: fewer readers
                break
            conns.append(conn)
            _repeatable_read(conn, snapshot)
        todo: queue.SimpleQueue = queue.SimpleQueue()
        for bounds in range_bounds(pages, ranges or readers * RANGES_PER_READER):
            todo.put(bounds)
        out: queue.Queue = queue.Queue(maxsize=len(conns))

        def put(item) -> bool:
            while not stop.is_set():
                with contextlib.suppress(queue.Full):
                    out.put(item, timeout=0.1)
                    return True
            return False

        def work(conn: psycopg.Connection) -> None:
            try:
                while not stop.is_set():
                    try:
                        first, end = todo.get_nowait()
                    except queue.Empty:
                        break
                    query = range_query(stream, first, end)
                    for batch in reader.read_batches(conn, stream, None, batch_rows, query=query):
                        if on_batch is not None:
                            on_batch()
                        if not put(batch):
                            return
                put(_DONE)
            except BaseException as exc:  # handed to the worker, which raises it
                put(exc)

        threads = [
            threading.Thread(target=work, args=(c,), name=f"adw-range-{i}", daemon=True)
            for i, c in enumerate(conns)
        ]
        for t in threads:
            t.start()
        running = len(threads)
        while running:
            item = out.get()
            if item is _DONE:
                running -= 1
            elif isinstance(item, BaseException):
                raise item
            else:
                yield item
    finally:
        stop.set()
        if any(t.is_alive() for t in threads):  # closed early: a COPY still streaming stops
            for conn in conns:
                with contextlib.suppress(Exception):
                    conn.cancel()
        for t in threads:
            t.join()
        for conn in conns[1:]:
            with contextlib.suppress(Exception):
                conn.close()
        with contextlib.suppress(Exception):
            pg.execute("rollback")  # the transaction only read


TID_RANGE_SCAN = 140000
"""PostgreSQL 14 added the TID range scan; before it, each range would scan the whole table."""


def use_ranges(stream: Stream, readers: int, min_bytes: int, server_version: int) -> bool:
    """Whether a full sync of ``stream`` is read in ranges: ``readers`` > 1, a table of at
    least ``min_bytes``, on PostgreSQL 14 or later."""
    return readers > 1 and stream.estimated_bytes >= min_bytes and server_version >= TID_RANGE_SCAN
