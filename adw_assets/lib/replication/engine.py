"""The embedded replicator: PostgreSQL -> DuckDB, Airbyte "incremental | append + deduped".

Each stream is synced in its own DuckDB transaction that also writes its state, so a crash at
any moment leaves either the old or the new state with the matching data. Streams run on a
few worker threads (each with its own PostgreSQL and DuckDB connection), largest first.
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg

from adw_assets.errors import AdwError, ConfigError, SourceError
from adw_assets.lib import warehouse
from adw_assets.lib.replication import faults, reader
from adw_assets.lib.replication import state as state_mod
from adw_assets.lib.replication.catalog import Stream, discover
from adw_assets.lib.replication.result import ProgressEvent, ReplicationResult, StreamResult
from adw_assets.lib.replication.schedule import run_streams
from adw_assets.lib.replication.writer import StreamWriter, warehouse_tables
from adw_assets.lib.source.catalog import CURSOR_FIELD, TABLES

Progress = Callable[[ProgressEvent], None]
ROW_GROUP_SIZE = 16_384


def resolve_streams(requested: Sequence[str] | None) -> list[str]:
    """``schema.table`` names for the requested streams (bare ``table`` when unambiguous)."""
    known = [t.qualified for t in TABLES]
    if not requested:
        return known
    out: list[str] = []
    for name in requested:
        matches = [k for k in known if name in (k, k.split(".", 1)[1])]
        if len(matches) != 1:
            why = "is ambiguous" if matches else "is not a replicated stream"
            raise ConfigError(f"stream {name!r} {why}; streams are: {', '.join(known)}")
        if matches[0] not in out:
            out.append(matches[0])
    return out


def _redact(dsn: str) -> str:
    from adw_assets.lib.source.server import redact

    return redact(dsn)


class _Run:
    """One replication run: shared settings, connections per worker thread, results.

    The retry loop, progress and failure reporting are shared by every warehouse; a subclass
    (the BigQuery engine) only writes the stream differently (``_sync_once``).
    """

    REPORTED: tuple[type[Exception], ...] = (AdwError, psycopg.Error)
    """Errors whose own message is reported as is; anything else is prefixed by its type."""

    def __init__(self, dsn: str, con, *, prefix, lag_seconds, batch_rows, retries, backoff,
                 progress, sync_id, states, total, raw_history=True) -> None:  # fmt: skip
        self.dsn, self.con, self.prefix = dsn, con, prefix
        self.lag = timedelta(seconds=lag_seconds)
        self.batch_rows, self.retries, self.backoff = batch_rows, retries, backoff
        self.progress, self.sync_id, self.states = progress, sync_id, states
        self.total, self.done = total, 0
        self.pause = faults.from_settings()
        self.local = threading.local()
        self.lock = threading.Lock()
        self.source_down = False
        self.pg_connections: list[psycopg.Connection] = []
        self.raw_history = raw_history
        self.tables: dict | None = None
        """DuckDB only: the warehouse catalog when the run started (``warehouse_tables``)."""

    def emit(self, stream: str, phase: str, rows: int = 0, seconds: float = 0.0,
             message: str = "") -> None:  # fmt: skip
        if self.progress is None:
            return
        with self.lock:
            if phase in ("done", "failed"):
                self.done += 1
            event = ProgressEvent(stream, phase, rows, seconds, message, self.done, self.total)
            self.progress(event)

    def pg(self) -> psycopg.Connection:
        conn = getattr(self.local, "pg", None)
        if conn is None or conn.closed:
            conn = reader.connect(self.dsn)
            self.local.pg = conn
            with self.lock:
                self.pg_connections.append(conn)
        return conn

    def duck(self):
        cur = getattr(self.local, "duck", None)
        if cur is None:
            cur = self.con.cursor()
            cur.execute(f"use {warehouse.ATTACHED_CATALOG}; set TimeZone = 'UTC'")
            self.local.duck = cur
        return cur

    def drop_pg(self) -> None:
        conn = getattr(self.local, "pg", None)
        self.local.pg = None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    # -- one stream -------------------------------------------------------------------

    def sync(self, stream: Stream, full: bool) -> StreamResult:
        started = time.perf_counter()
        self.emit(stream.name, "start")
        attempt = 0
        while True:
            try:
                result = self._sync_once(stream, full, started)
                result.attempts = attempt + 1
                self.emit(stream.name, "done", result.rows_read, result.seconds)
                return result
            except psycopg.OperationalError as exc:
                self.drop_pg()
                if attempt >= self.retries or self.source_down:
                    self.source_down = True
                    msg = (
                        f"{stream.name}: the source PostgreSQL ({_redact(self.dsn)}) is "
                        f"unreachable after {attempt + 1} attempt(s): {str(exc).strip()}. "
                        "No state was advanced for this stream; check that the source is up "
                        "(`adw source status`) and run again."
                    )
                    return self._failed(stream, started, SourceError(msg), attempt + 1)
                wait = self.backoff * 2**attempt
                self.emit(stream.name, "retry", message=f"{exc!s:.200} (retry in {wait:.1f} s)")
                time.sleep(wait)
                attempt += 1
            except self.REPORTED as exc:
                return self._failed(stream, started, exc, attempt + 1)
            except Exception as exc:  # a bug or a warehouse error: report, keep others going
                err = AdwError(f"{stream.name}: {type(exc).__name__}: {exc}")
                return self._failed(stream, started, err, attempt + 1)

    def _failed(self, stream: Stream, started: float, exc: Exception, attempts: int):
        seconds = time.perf_counter() - started
        message = str(exc) if stream.name in str(exc) else f"{stream.name}: {exc}"
        self.emit(stream.name, "failed", seconds=seconds, message=message)
        return StreamResult(stream.name, self.prefix + stream.schema, stream.table, "failed",
                            seconds=seconds, error=message, attempts=attempts)  # fmt: skip

    def _plan(self, stream: Stream, full: bool):
        """``(namespace, previous state, full, generation, read-since)`` of a stream's sync:
        the first sync is full, a full refresh bumps the generation, an incremental sync
        re-reads the lag window before the saved cursor."""
        namespace = self.prefix + stream.schema
        prev = self.states.get((namespace, stream.table))
        if not stream.primary_key:
            raise AdwError(
                f"{stream.name} has no primary key; append + deduped needs one. "
                "Add a primary key in the source, or leave this table out."
            )
        if CURSOR_FIELD not in {c.name for c in stream.columns}:
            raise AdwError(f"{stream.name} has no cursor column {CURSOR_FIELD!r}.")
        full = full or prev is None
        generation = 0 if prev is None else prev.generation_id + (1 if full else 0)
        since = None if full or prev.cursor_value is None else prev.cursor_value - self.lag
        return namespace, prev, full, generation, since

    def _sync_once(self, stream: Stream, full: bool, started: float) -> StreamResult:
        namespace, prev, full, generation, since = self._plan(stream, full)
        pg, con = self.pg(), self.duck()
        con.execute("begin transaction")
        try:
            writer = StreamWriter(con, stream, namespace, generation=generation,
                                  sync_id=self.sync_id, full=full,
                                  raw_history=self.raw_history,
                                  tables=self.tables)  # fmt: skip
            changes = writer.prepare()
            self.pause("stream_start", stream.name)
            for batch in reader.read_batches(pg, stream, since, self.batch_rows):
                self.pause("batch_read", stream.name)
                writer.write(batch, datetime.now(UTC))
                self.emit(stream.name, "batch", writer.rows_read, time.perf_counter() - started)
                self.pause("batch_written", stream.name)
            cursor = writer.max_cursor
            if not full and prev.cursor_value is not None:
                cursor = max(c for c in (cursor, prev.cursor_value) if c is not None)
            if not (writer.full or writer.changed or changes or cursor != prev.cursor_value):
                # nothing new: rows re-read exactly as held; no write, no commit to pay for
                con.execute("rollback")
                return StreamResult(
                    stream.name, namespace, stream.table, "ok", writer.rows_read, 0, 0, cursor,
                    generation, self.sync_id, False, time.perf_counter() - started,
                )  # fmt: skip
            self.pause("before_state", stream.name)
            new_state = state_mod.StreamState(
                namespace, stream.table, stream.name, CURSOR_FIELD, cursor, generation,
                self.sync_id, writer.rows_read, writer.inserted, writer.updated,
            )  # fmt: skip
            state_mod.save(con, new_state)
            self.pause("before_commit", stream.name)
            con.execute("commit")
        except BaseException:
            with contextlib.suppress(Exception):
                con.execute("rollback")
            raise
        self.pause("after_commit", stream.name)
        return StreamResult(
            stream.name, namespace, stream.table, "ok", writer.rows_read, writer.inserted,
            writer.updated, cursor, generation, self.sync_id, writer.full,
            time.perf_counter() - started, schema_changes=changes,
        )  # fmt: skip


def _discover(dsn: str, names: list[str], retries: int, backoff: float) -> dict[str, Stream]:
    for attempt in range(retries + 1):
        try:
            with reader.connect(dsn) as conn:
                return discover(conn, names)
        except psycopg.OperationalError as exc:
            if attempt >= retries:
                raise SourceError(
                    f"cannot read the source catalog at {_redact(dsn)} after {attempt + 1} "
                    f"attempt(s): {str(exc).strip()}. Check that the source is up "
                    "(`adw source status`) and that ADW_REPLICATION_DSN is right."
                ) from exc
            time.sleep(backoff * 2**attempt)
    raise AssertionError("unreachable")


def plan_streams(
    source_dsn: str,
    streams: Sequence[str] | None,
    full_refresh: bool | Sequence[str],
    retries: int,
    backoff: float,
) -> tuple[list[str], set[str], dict[str, Stream]]:
    """The stream names to sync (requested plus full-refreshed), those to refresh, and the
    source catalog of each; fails when the source lacks one of them."""
    names = resolve_streams(streams)
    if isinstance(full_refresh, bool):
        refresh = set(names) if full_refresh else set()
    else:
        refresh = set(resolve_streams(full_refresh))
        names += [n for n in sorted(refresh) if n not in names]
    catalog = _discover(source_dsn, names, retries, backoff)
    missing = [n for n in names if n not in catalog]
    if missing:
        raise SourceError(
            f"the source has no table {', '.join(missing)}; is it the AdventureWorks database? "
            "Run `adw source start` (embedded) or check ADW_SOURCE_DSN."
        )
    return names, refresh, catalog


def replicate(
    source_dsn: str,
    duckdb_path: Path,
    *,
    prefix: str = "raw_",
    streams: Sequence[str] | None = None,
    full_refresh: bool | Sequence[str] = False,
    lag_seconds: int = 300,
    batch_rows: int = 100_000,
    retries: int = 3,
    progress: Progress | None = None,
    workers: int = 2,
    backoff_seconds: float = 1.0,
    memory_limit: str | None = "128MB",
    raw_history: bool = True,
) -> ReplicationResult:
    """Replicate the streams (default: all 12) from ``source_dsn`` into ``duckdb_path``.

    Returns per-stream results; a failed stream is reported in the result (``.ok`` is false)
    and leaves its table and state untouched, while the other streams go on. ``memory_limit``
    caps DuckDB's buffer memory during the run (it spills to disk beyond it).
    """
    started = time.perf_counter()
    names, refresh, catalog = plan_streams(
        source_dsn, streams, full_refresh, retries, backoff_seconds
    )
    # small row groups: a stream's rows are compressed and written as each group fills, by
    # DuckDB's threads during the insert, instead of all at the commit's checkpoint (the
    # AdventureWorks tables each fit in one default 122,880-row group); measured 1.6 -> 1.2 s
    # for a full sync of the real data
    con = warehouse.connect(duckdb_path, row_group_size=ROW_GROUP_SIZE)
    # fetchall, never fetchone, on this long-lived connection: an unconsumed result keeps a
    # transaction open, which blocks DuckDB's automatic checkpoints (the WAL then grows to the
    # size of the whole sync and is checkpointed, all at once, on close)
    saved_limit = con.execute("select current_setting('memory_limit')").fetchall()[0][0]
    try:
        if memory_limit:
            con.execute(f"set memory_limit = '{memory_limit}'")
        # the workers are the parallelism: DuckDB threads beyond the cores left per worker
        # only fight them and PostgreSQL for the CPU (real data, 2 cores: 1.0 -> 0.9 s)
        con.execute(f"set threads = {max(1, (os.cpu_count() or 1) // max(1, workers))}")
        con.execute("begin transaction")
        state_mod.ensure(con)
        for schema in sorted({prefix + catalog[n].schema for n in names}):
            con.execute(f"create schema if not exists {warehouse.quote(schema)}")
        con.execute("commit")
        states = state_mod.load_all(con)
        run = _Run(source_dsn, con, prefix=prefix, lag_seconds=lag_seconds,
                   batch_rows=batch_rows, retries=retries, backoff=backoff_seconds,
                   progress=progress, sync_id=state_mod.next_sync_id(con), states=states,
                   total=len(names), raw_history=raw_history)  # fmt: skip
        run.tables = warehouse_tables(con, sorted({prefix + catalog[n].schema for n in names}))
        order = sorted(names, key=lambda n: -catalog[n].estimated_bytes)

        try:
            done = run_streams(
                order,
                lambda n: run.sync(catalog[n], n in refresh),
                workers=min(workers, len(order)),
            )
        finally:
            for conn in run.pg_connections:
                conn.close()
        return ReplicationResult(run.sync_id, [done[n] for n in names],
                                 time.perf_counter() - started)  # fmt: skip
    finally:
        with contextlib.suppress(Exception):  # the setting is per database, not per connection
            con.execute(f"set memory_limit = '{saved_limit}'")
        con.close()
