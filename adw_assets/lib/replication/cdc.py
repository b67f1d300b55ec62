"""Change data capture, the engine's second reader (``ADW_REPLICATION_METHOD=cdc``).

The engine (:mod:`engine`) and the destination stay the same; only where the rows come from
changes. Every record carries Airbyte's CDC columns ``_ab_cdc_lsn``, ``_ab_cdc_updated_at``,
``_ab_cdc_deleted_at``, and ``_ab_cdc_lsn`` orders the versions of a record (the cursor).

* **Initial snapshot** (no slot yet, or ``--full-refresh``): the slot is created with an
  exported snapshot (:func:`cdc_slot.create_with_snapshot`); every stream is copied inside a
  ``REPEATABLE READ`` transaction that imports it, so the copy holds exactly the transactions
  committed before the slot's consistent point, and the slot streams exactly those after it.
  Snapshot records: ``_ab_cdc_lsn`` = the consistent point, ``_ab_cdc_updated_at`` = the
  snapshot's time. A new generation for every stream.
* **Changes**: the transactions committed before the WAL position read at the start of the
  run (``upto``) are peeked from the slot, decoded (:mod:`cdc_pgoutput`) and grouped by
  stream; a transaction a stream already applied (its commit LSN below the stream's stored
  LSN) is skipped. ``_ab_cdc_lsn`` is the commit's LSN (Debezium writes the change's: the
  commit's also orders a transaction that began before the consistent point after the
  snapshot), ``_ab_cdc_updated_at`` the commit time, and a delete sets
  ``_ab_cdc_deleted_at``: the final table loses the row, the raw history keeps the record.
* **Exactly once**: each stream stores ``upto`` (``airbyte_internal._adw_cdc_state``) in the
  transaction of its data; the slot is advanced after the run, to ``upto`` when every stream
  committed (else not past the oldest stored LSN of a failed one). A crash between the two
  re-reads transactions the warehouse already holds, which the stored LSN skips.
"""

from __future__ import annotations

import base64
import io
import time
from collections.abc import Sequence
from contextlib import nullcontext
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta

import numpy as np
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
from psycopg import sql

from adw_assets.errors import AdwError, ConfigError
from adw_assets.lib.mappings import Mappings
from adw_assets.lib.replication import cdc_pgoutput as pgo
from adw_assets.lib.replication import cdc_slot, reader
from adw_assets.lib.replication.catalog import Column, Stream
from adw_assets.lib.replication.destination import Destination
from adw_assets.lib.replication.plan import plan_streams
from adw_assets.lib.replication.result import ReplicationResult
from adw_assets.lib.replication.schedule import run_streams
from adw_assets.settings import default

LSN, UPDATED_AT, DELETED_AT = "_ab_cdc_lsn", "_ab_cdc_updated_at", "_ab_cdc_deleted_at"
CDC_FIELDS = (LSN, UPDATED_AT, DELETED_AT)


def cdc_columns(lsn: int | None = None, at: datetime | None = None) -> tuple[Column, ...]:
    """Airbyte's CDC columns; their select expressions are the snapshot's constants."""
    stamp = sql.SQL("cast({} as timestamp)").format(
        sql.Literal(at.astimezone(UTC).replace(tzinfo=None).isoformat(sep=" ") if at else None)
    )
    tz = "TIMESTAMP WITH TIME ZONE"
    number = sql.SQL("cast({} as bigint)").format(sql.Literal(lsn))
    return (
        Column(LSN, "bigint", "BIGINT", pa.int64(), number),
        Column(UPDATED_AT, "timestamptz", tz, pa.timestamp("us"), stamp),
        Column(DELETED_AT, "timestamptz", tz, pa.timestamp("us"), sql.SQL("null")),
    )


def with_cdc_columns(stream: Stream, lsn: int | None = None, at: datetime | None = None):
    return replace(stream, columns=stream.columns + cdc_columns(lsn, at))


class SnapshotSource:
    """The initial copy: the cursor reader's COPY, inside the slot's exported snapshot."""

    cursor_field = LSN

    def __init__(self, snapshot: str, lsn: int) -> None:
        self.snapshot, self.point = snapshot, lsn

    def batches(self, pg: psycopg.Connection, stream: Stream, full: bool, since, batch_rows):
        pg.execute("begin isolation level repeatable read read only")
        try:
            pg.execute(sql.SQL("set transaction snapshot {}").format(sql.Literal(self.snapshot)))
            yield from reader.read_batches(pg, stream, None, batch_rows)
        finally:
            pg.execute("rollback")  # nothing to keep: the transaction only read

    def cursor_of(self, batch: pa.Table) -> datetime | None:
        return pc.max(batch[UPDATED_AT]).as_py()

    def lsn(self, stream: Stream) -> int:
        return self.point


class ChangeSource:
    """The changes of one run, grouped by stream: Arrow tables in the catalog's column order."""

    cursor_field = LSN

    def __init__(self, rows: dict[str, pa.Table], upto: int) -> None:
        self.rows, self.upto = rows, upto

    def batches(self, pg, stream: Stream, full: bool, since, batch_rows: int):
        table = self.rows.get(stream.name)
        for start in range(0, table.num_rows if table is not None else 0, batch_rows):
            yield table.slice(start, batch_rows)

    def cursor_of(self, batch: pa.Table) -> datetime | None:
        return pc.max(batch[UPDATED_AT]).as_py()

    def lsn(self, stream: Stream) -> int:
        return self.upto


PG_EPOCH_US = int(pgo.PG_EPOCH.timestamp()) * 1_000_000


def to_arrow(stream: Stream, messages: list[bytes], positions: list[int], lsns: np.ndarray,
             committed_us: np.ndarray) -> pa.Table:  # fmt: skip
    """The changes ``messages`` of one relation (``positions``: each catalog column's index in
    the relation, -1 when it has none) as the stream's Arrow table. The text values are parsed
    as the cursor reader parses its COPY text (written as CSV and read with the reader's own
    conversion), so both readers land the same values; the CDC columns are built from the
    transactions' ``lsns`` and commit times (microseconds since 2000-01-01)."""
    names = [c.name for c in stream.columns]
    key = [positions[names.index(k)] for k in stream.primary_key]
    parsed = pgo.parse_changes(messages, key if min(key, default=-1) >= 0 else ())
    n = len(parsed.ops)  # an update of the key is two records: the old key's delete, the row
    lsns, committed_us = lsns[parsed.message], committed_us[parsed.message]
    source = stream.columns[: -len(CDC_FIELDS)]
    text = {}
    for col, i in zip(source, positions, strict=False):
        if i < 0:
            text[col.name] = pa.nulls(n, pa.string())
            continue
        values, unchanged = parsed.columns[i]
        if unchanged.any():
            raise AdwError(
                f"column {col.name}: an update left a large (TOASTed) value out of the change "
                "stream, which adw's CDC reader cannot rebuild yet. Resync with `adw replicate "
                "--full-refresh`, or set ADW_REPLICATION_METHOD=cursor."
            )
        if col.pg_type == "bytea":  # \x<hex> -> base64, as the COPY gives
            values = pa.array(
                [None if v is None else base64.b64encode(bytes.fromhex(v[2:])).decode()
                 for v in values.to_pylist()], pa.string(),
            )  # fmt: skip
        text[col.name] = values
    out = io.BytesIO()
    options = pacsv.WriteOptions(include_header=False, quoting_style="all_valid")
    pacsv.write_csv(pa.table(text), out, options)
    read, parse, convert = reader._csv_options(replace(stream, columns=source))
    table = pacsv.read_csv(
        io.BytesIO(out.getvalue()), read_options=read, parse_options=parse,
        convert_options=convert,
    )  # fmt: skip
    at = pa.array(committed_us + PG_EPOCH_US, pa.timestamp("us"))
    deleted = pc.if_else(pa.array(parsed.ops == ord("D")), at, pa.scalar(None, at.type))
    cdc = ((LSN, pa.array(lsns, pa.int64())), (UPDATED_AT, at), (DELETED_AT, deleted))
    for name, column in cdc:
        table = table.append_column(name, column)
    return table


@dataclass
class Changes:
    """What one read of the slot returned (:func:`read_changes`)."""

    rows: dict[str, pa.Table]
    """Per stream, its changes as Arrow tables in the catalog's column order, in commit order."""
    n: int
    """Changes to the replicated streams (rows skipped as already applied not counted)."""
    messages: int
    """Messages read from the slot (begins, commits and relations included)."""
    end_lsn: int | None
    """The end of the last transaction read (None when none was)."""
    commits: list[tuple[datetime, int]] = field(default_factory=list)
    """(commit time, changes) of every transaction with changes to the streams."""


@dataclass
class _Group:
    """The changes of one stream under one relation message (its column positions)."""

    stream: Stream
    positions: list[int]
    messages: list[bytes] = field(default_factory=list)
    txns: list[int] = field(default_factory=list)
    """Each change's transaction, an index into the read's transactions."""


_CHANGE_KINDS = frozenset(b"IUD")


def read_changes(
    conn: psycopg.Connection,
    catalog: dict[str, Stream],
    applied: dict[str, int],
    upto: int,
    limit: int | None = None,
) -> Changes:
    """The rows of the transactions committed before ``upto`` (with ``limit``, of the first
    of them, whole, until they hold ``limit`` messages), per stream, in commit order, skipping
    a stream's transactions below its ``applied`` LSN. The loop over the messages only sorts
    the row changes by relation; :func:`to_arrow` parses them, many at a time."""
    relations: dict[int, _Group] = {}
    groups: list[_Group] = []
    txns: list[tuple[int, int]] = []  # (final LSN, commit time in microseconds since 2000)
    out = Changes({}, 0, 0, None)
    final_lsn, in_txn = 0, 0
    for data in cdc_slot.peek(conn, upto, limit):
        out.messages += 1
        kind = data[0]
        if kind in _CHANGE_KINDS:
            group = relations.get(int.from_bytes(data[1:5], "big"))
            if group is None or final_lsn < applied.get(group.stream.name, 0):
                continue  # not replicated, or written by an earlier run before the slot moved
            group.messages.append(data)
            group.txns.append(len(txns) - 1)
            in_txn += 1
            continue
        msg = pgo.decode(data)
        if isinstance(msg, pgo.Begin):
            final_lsn, in_txn = msg.final_lsn, 0
            txns.append((msg.final_lsn, (msg.committed_at - pgo.PG_EPOCH) // _US))
        elif isinstance(msg, pgo.Commit):
            out.end_lsn = msg.end_lsn
            if in_txn:
                out.commits.append((msg.committed_at, in_txn))
                out.n += in_txn
        elif isinstance(msg, pgo.Relation):
            stream = catalog.get(f"{msg.schema}.{msg.table}")
            if stream is not None:
                source = {c: i for i, c in enumerate(msg.columns)}
                positions = [source.get(c.name, -1) for c in stream.columns[: -len(CDC_FIELDS)]]
                relations[msg.relid] = _Group(stream, positions)
                groups.append(relations[msg.relid])
        elif isinstance(msg, pgo.Truncate):
            raise AdwError(
                "a table was truncated in the source; CDC cannot replay a truncate. Resync with "
                "`adw replicate --full-refresh`."
            )
    lsn_of = np.array([t[0] for t in txns], np.int64)
    at_of = np.array([t[1] for t in txns], np.int64)
    parts: dict[str, list[pa.Table]] = {}
    for g in groups:
        if g.messages:
            index = np.array(g.txns, np.int64)
            table = to_arrow(g.stream, g.messages, g.positions, lsn_of[index], at_of[index])
            parts.setdefault(g.stream.name, []).append(table)
    out.rows = {name: pa.concat_tables(tables) for name, tables in parts.items()}
    return out


_US = timedelta(microseconds=1)


def replicate_cdc(
    cdc_dsn: str,
    destination: Destination,
    *,
    prefix: str = "raw_",
    streams: Sequence[str] | None = None,
    full_refresh: bool | Sequence[str] = False,
    batch_rows: int = default("replication_batch_rows"),
    retries: int = default("replication_retries"),
    progress=None,
    workers: int = default("replication_workers"),
    backoff_seconds: float = 1.0,
    raw_history: bool = default("replication_raw_history"),
    mappings: Mappings | None = None,
) -> ReplicationResult:
    """One CDC run: the initial snapshot when there is no slot (or ``full_refresh``), else the
    changes committed since the last run. Always all 12 streams: the slot is shared."""
    from adw_assets.lib.replication.engine import _Run

    started = time.perf_counter()
    if mappings:
        raise ConfigError(
            "ADW_REPLICATION_MAPPINGS is not applied by the CDC reader yet; unset it or set "
            "ADW_REPLICATION_METHOD=cursor."
        )
    names, _refresh, catalog = plan_streams(
        cdc_dsn, None, bool(full_refresh), retries, backoff_seconds, None
    )
    if streams and set(streams) != set(names):
        from adw_assets.lib.replication.plan import resolve_streams

        if set(resolve_streams(streams)) != set(names):
            raise ConfigError(
                "with ADW_REPLICATION_METHOD=cdc every run replicates all the streams (they "
                "share one replication slot); run `adw replicate` without stream names."
            )
    namespaces = sorted({prefix + catalog[n].schema for n in names})
    workers = min(max(1, workers), len(names))
    conn = reader.connect(cdc_dsn)
    try:
        has_slot = cdc_slot.check_ready(conn, resync=bool(full_refresh))
        with destination.open_run(namespaces, workers) as target:
            if not hasattr(target, "cdc_states"):
                raise ConfigError(
                    f"ADW_REPLICATION_METHOD=cdc needs a destination that stores the applied "
                    f"LSN (DuckDB, BigQuery), not {destination.name}; set "
                    "ADW_REPLICATION_METHOD=cursor."
                )
            stored = target.cdc_states()
            applied = {n: stored.get((prefix + catalog[n].schema, catalog[n].table)) for n in names}
            # no slot, a resync asked for, or a stream the slot's position does not cover
            # (a new warehouse, a crash during the initial snapshot): a new slot and snapshot
            snapshot = full_refresh or not has_slot or None in applied.values()
            if snapshot:
                if has_slot:
                    cdc_slot.drop(conn)
                creating = cdc_slot.create_with_snapshot(cdc_dsn)
            else:
                creating = nullcontext(None)
            with creating as created:
                if created is not None:
                    point, name = created
                    now = datetime.now(UTC)
                    run_catalog = {n: with_cdc_columns(catalog[n], point, now) for n in names}
                    source = SnapshotSource(name, point)
                else:
                    upto = cdc_slot.current_lsn(conn)
                    run_catalog = {n: with_cdc_columns(catalog[n]) for n in names}
                    changes = read_changes(conn, run_catalog, applied, upto)
                    source = ChangeSource(changes.rows, upto)
                run = _Run(cdc_dsn, target, prefix=prefix, lag_seconds=0, batch_rows=batch_rows,
                           retries=retries, backoff=backoff_seconds, progress=progress,
                           total=len(names), raw_history=raw_history, source=source)  # fmt: skip
                order = sorted(names, key=lambda n: -run_catalog[n].estimated_bytes)
                full = set(names) if created is not None else set()
                try:
                    done = run_streams(order, lambda n: run.sync(run_catalog[n], n in full),
                                       workers=workers)  # fmt: skip
                finally:
                    run.close()
        if created is None:
            run.pause("after_commit", "cdc_ack")  # the kill tests' point before the slot moves
            results = [done[n] for n in names]
            failed = [applied[r.stream] for r in results if not r.ok]
            target_lsn = min([upto, *failed])
            if target_lsn > cdc_slot.confirmed(conn):
                cdc_slot.advance(conn, target_lsn)
    finally:
        conn.close()
    return ReplicationResult(run.sync_id, [done[n] for n in names], time.perf_counter() - started)
