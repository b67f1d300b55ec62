"""Read a stream from PostgreSQL: ``COPY (select ...) TO STDOUT`` CSV, parsed by pyarrow.

The COPY output is streamed into pyarrow's incremental CSV reader, so only one block (a few
MB) plus one batch of ``batch_rows`` rows is held in memory at a time. Types come from the
source catalog, never inferred: decimals stay exact, ``""`` is an empty string while an
unquoted empty field is NULL, and the country code ``NA`` stays a string.
"""

from __future__ import annotations

import io
from collections.abc import Iterable, Iterator
from datetime import datetime

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg import sql

from adw_assets.lib.replication.catalog import Stream
from adw_assets.lib.source.catalog import CURSOR_FIELD

BLOCK_SIZE = 1 << 20
USE_THREADS = False
"""Streams run on parallel workers already; one parsing thread each keeps memory bounded."""

SESSION_SQL = (
    "set timezone = 'UTC'; set datestyle = 'ISO, YMD'; set extra_float_digits = 3; "
    "set default_transaction_read_only = on"
)


class _CopyStream(io.RawIOBase):
    """A file-like view of psycopg's COPY chunks (one per row), for pyarrow.

    Rows are appended to one buffer until a read is satisfied: a bytearray append per row
    is the cheapest Python can do, and pyarrow reads in blocks of a megabyte (0.20 -> 0.12 s
    for the 121k order lines, against slicing a memoryview per row)."""

    def __init__(self, chunks: Iterable[memoryview | bytes]) -> None:
        self._chunks = iter(chunks)
        self._pending = bytearray()
        self._eof = False

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        size, pending = len(buffer), self._pending
        if len(pending) < size and not self._eof:
            for chunk in self._chunks:
                pending += chunk
                if len(pending) >= size:
                    break
            else:
                self._eof = True
        n = min(size, len(pending))
        buffer[:n] = pending[:n]
        del pending[:n]
        return n


def select_query(
    stream: Stream, since: datetime | None, where: sql.Composable | None = None
) -> sql.Composed:
    """``COPY (select <columns> from <table> [where modifieddate >= since]) TO STDOUT``, or
    with another ``where`` condition (the page ranges of :mod:`ranges`)."""
    table = sql.Identifier(stream.schema, stream.table)
    columns = sql.SQL(", ").join(c.select_sql for c in stream.columns)
    if where is None and since is not None:
        where = sql.SQL("{} >= {}").format(sql.Identifier(CURSOR_FIELD), sql.Literal(since))
    where = sql.SQL("") if where is None else sql.SQL(" where {}").format(where)
    return sql.SQL("copy (select {} from {}{}) to stdout (format csv)").format(
        columns, table, where
    )


def _csv_options(stream: Stream):
    names = [c.name for c in stream.columns]
    read = pacsv.ReadOptions(column_names=names, block_size=BLOCK_SIZE, use_threads=USE_THREADS)
    parse = pacsv.ParseOptions(newlines_in_values=True)
    convert = pacsv.ConvertOptions(
        column_types={c.name: c.arrow_type for c in stream.columns},
        null_values=[""],
        strings_can_be_null=True,
        quoted_strings_can_be_null=False,
        true_values=["t"],
        false_values=["f"],
    )
    return read, parse, convert


def read_batches(
    conn: psycopg.Connection,
    stream: Stream,
    since: datetime | None,
    batch_rows: int,
    query: sql.Composable | None = None,
) -> Iterator[pa.Table]:
    """The rows of ``stream`` with ``modifieddate >= since`` (all when ``None``), or those of
    another COPY ``query`` of its columns, as Arrow tables of at most ``batch_rows`` rows."""
    read, parse, convert = _csv_options(stream)
    with conn.cursor().copy(query or select_query(stream, since)) as copy:
        source = _CopyStream(copy)
        buffered = io.BufferedReader(source, BLOCK_SIZE)
        try:
            reader = pacsv.open_csv(
                buffered,
                read_options=read,
                parse_options=parse,
                convert_options=convert,
            )
        except pa.ArrowInvalid as exc:
            if "Empty CSV file" in str(exc):
                return
            raise
        pending: list[pa.RecordBatch] = []
        rows = 0
        for batch in reader:
            offset = 0
            while offset < batch.num_rows:
                take = min(batch_rows - rows, batch.num_rows - offset)
                pending.append(batch.slice(offset, take))
                rows += take
                offset += take
                if rows == batch_rows:
                    yield pa.Table.from_batches(pending)
                    pending, rows = [], 0
        if pending:
            yield pa.Table.from_batches(pending)


def connect(dsn: str) -> psycopg.Connection:
    """A read-only, autocommit connection with the session settings the reader relies on."""
    conn = psycopg.connect(dsn, autocommit=True, connect_timeout=10)
    conn.execute(SESSION_SQL)
    return conn
