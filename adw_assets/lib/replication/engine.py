"""The embedded replicator: PostgreSQL -> a destination, Airbyte "incremental | append + deduped".

One engine for every warehouse: it plans each stream's sync, reads the source, retries,
reports progress and failures, keeps the cursor and the state; the :class:`Destination`
(DuckDB, BigQuery) writes. Each stream is committed with its state in one transaction of
the destination, so a crash at any moment leaves either the old or the new state with the
matching data. Streams run on a few worker threads (each with its own PostgreSQL
connection), largest first.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta

import psycopg
import pyarrow.compute as pc

from adw_assets.errors import AdwError, SourceError
from adw_assets.lib.mappings import Mappings
from adw_assets.lib.replication import faults, ranges, reader
from adw_assets.lib.replication.catalog import Stream
from adw_assets.lib.replication.destination import Destination, DestinationRun, LoadPlan
from adw_assets.lib.replication.plan import plan_streams
from adw_assets.lib.replication.result import ProgressEvent, ReplicationResult, StreamResult
from adw_assets.lib.replication.schedule import run_streams
from adw_assets.lib.replication.state import StreamState
from adw_assets.lib.retry import retrying
from adw_assets.lib.secrets import redact, redact_dsn
from adw_assets.lib.source.catalog import CURSOR_FIELD
from adw_assets.settings import default

Progress = Callable[[ProgressEvent], None]

REPORTED: tuple[type[Exception], ...] = (AdwError, psycopg.Error)
"""Errors whose own message is reported as is; anything else is prefixed by its type."""


def _later(a: datetime | None, b: datetime | None) -> datetime | None:
    return b if a is None else a if b is None else max(a, b)


class _Run:
    """One replication run: settings, a PostgreSQL connection per worker thread, progress."""

    def __init__(self, dsn: str, target: DestinationRun, *, prefix, lag_seconds, batch_rows,
                 retries, backoff, progress, total, raw_history, source=None) -> None:  # fmt: skip
        self.dsn, self.target, self.prefix = dsn, target, prefix
        self.source = source or CursorSource()
        """Where the rows come from: the cursor reader, or the CDC reader (:mod:`cdc`)."""
        self.lag = timedelta(seconds=lag_seconds)
        self.batch_rows, self.retries, self.backoff = batch_rows, retries, backoff
        self.progress, self.total, self.done = progress, total, 0
        self.raw_history = raw_history
        self.sync_id = max((s.sync_id for s in target.states.values()), default=0) + 1
        self.pause = faults.from_settings()
        self.local = threading.local()
        self.lock = threading.Lock()
        self.source_down = False
        self.pg_connections: list[psycopg.Connection] = []

    def emit(self, stream: str, phase: str, rows: int = 0, seconds: float = 0.0,
             message: str = "") -> None:  # fmt: skip
        if self.progress is None:
            return
        with self.lock:
            if phase in ("done", "failed"):
                self.done += 1
            message = redact(message, self.dsn) if message else message
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

    def drop_pg(self) -> None:
        conn = getattr(self.local, "pg", None)
        self.local.pg = None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

    def close(self) -> None:
        for conn in self.pg_connections:
            conn.close()

    # -- one stream -------------------------------------------------------------------

    def sync(self, stream: Stream, full: bool) -> StreamResult:
        started = time.perf_counter()
        self.emit(stream.name, "start")

        def retry(state) -> None:
            exc, wait = state.outcome.exception(), state.upcoming_sleep
            self.drop_pg()
            self.emit(stream.name, "retry", message=f"{exc!s:.200} (retry in {wait:.1f} s)")

        policy = retrying(
            lambda e: isinstance(e, psycopg.OperationalError) and not self.source_down,
            first_wait=self.backoff, attempts=self.retries + 1, jitter=False, before_sleep=retry,
        )  # fmt: skip
        try:
            result = policy(self._sync_once, stream, full, started)
            result.attempts = policy.statistics["attempt_number"]
        except psycopg.OperationalError as exc:
            self.drop_pg()
            self.source_down = True
            attempts = policy.statistics["attempt_number"]
            msg = (
                f"{stream.name}: the source PostgreSQL ({redact_dsn(self.dsn)}) is "
                f"unreachable after {attempts} attempt(s): {str(exc).strip()}. "
                "No state was advanced for this stream; check that the source is up "
                "(`adw source status`) and run again."
            )
            return self._failed(stream, started, SourceError(msg), attempts)
        except Exception as exc:  # a bug or a warehouse error: report, keep others going
            reported = exc if isinstance(exc, REPORTED) else None
            err = (
                self.target.explain(stream.name, exc)
                or reported
                or AdwError(f"{stream.name}: {type(exc).__name__}: {exc}")
            )
            return self._failed(stream, started, err, policy.statistics["attempt_number"])
        self.emit(stream.name, "done", result.rows_read, result.seconds)
        return result

    def _failed(self, stream: Stream, started: float, exc: Exception, attempts: int):
        seconds = time.perf_counter() - started
        message = str(exc) if stream.name in str(exc) else f"{stream.name}: {exc}"
        message = redact(message, self.dsn)
        self.emit(stream.name, "failed", seconds=seconds, message=message)
        return StreamResult(stream.name, self.prefix + stream.schema, stream.table, "failed",
                            seconds=seconds, error=message, attempts=attempts)  # fmt: skip

    def _plan(self, stream: Stream, full: bool):
        """``(namespace, previous state, full, generation, read-since)`` of a stream's sync:
        the first sync is full, a full refresh bumps the generation, an incremental sync
        re-reads the lag window before the saved cursor."""
        namespace = self.prefix + stream.schema
        prev = self.target.states.get((namespace, stream.table))
        if not stream.primary_key:
            raise AdwError(
                f"{stream.name} has no primary key; append + deduped needs one. "
                "Add a primary key in the source, or leave this table out."
            )
        if self.source.cursor_field not in {c.name for c in stream.columns}:
            raise AdwError(f"{stream.name} has no cursor column {CURSOR_FIELD!r}.")
        full = full or prev is None
        generation = 0 if prev is None else prev.generation_id + (1 if full else 0)
        since = None if full or prev.cursor_value is None else prev.cursor_value - self.lag
        return namespace, prev, full, generation, since

    def _sync_once(self, stream: Stream, full: bool, started: float) -> StreamResult:
        namespace, prev, full, generation, since = self._plan(stream, full)
        pg, name = self.pg(), stream.name
        plan = LoadPlan(stream, namespace, generation, self.sync_id, full, self.raw_history,
                        self.source.cursor_field)  # fmt: skip
        load = self.target.stream(plan)
        cursor = None if full else prev.cursor_value  # the saved cursor never moves back
        try:
            changes = load.prepare()
            self.pause("stream_start", name)
            batches = self.source.batches(pg, stream, full, since, self.batch_rows)
            with contextlib.closing(batches):  # closed on an error: parallel readers stop
                for batch in batches:
                    self.pause("batch_read", name)
                    load.write(batch, datetime.now(UTC))
                    cursor = _later(cursor, self.source.cursor_of(batch))
                    self.emit(name, "batch", load.rows_read, time.perf_counter() - started)
                    self.pause("batch_written", name)
            load.finish()
            commit = bool(load.full or load.changed or changes or cursor != prev.cursor_value)
            if commit:
                self.pause("before_state", name)
                load.write_state(StreamState(
                    namespace, stream.table, name, self.source.cursor_field, cursor,
                    load.generation, self.sync_id, load.rows_read, load.inserted, load.updated,
                    cdc_lsn=self.source.lsn(stream),
                ))  # fmt: skip
                self.pause("before_commit", name)
                load.commit()
            else:  # nothing new: the rows re-read are held as they are; no commit to pay for
                load.rollback()
        except BaseException:
            load.rollback()
            raise
        if commit:
            self.pause("after_commit", name)
        return StreamResult(
            name, namespace, stream.table, "ok", load.rows_read, load.inserted, load.updated,
            cursor, load.generation, self.sync_id, load.full, time.perf_counter() - started,
            schema_changes=changes,
        )  # fmt: skip


class CursorSource:
    """The cursor reader: ``COPY (select ... where modifieddate >= since)`` (:mod:`reader`); a
    full sync of a table of ``range_min_bytes`` or more is read by ``range_readers`` concurrent
    COPYs of page ranges in one snapshot (:mod:`ranges`)."""

    cursor_field = CURSOR_FIELD

    def __init__(self, dsn: str = "", range_readers: int = 1, range_min_bytes: int = 0) -> None:
        self.dsn, self.range_readers, self.range_min_bytes = dsn, range_readers, range_min_bytes
        self.pause = faults.from_settings() if range_readers > 1 else None

    def batches(self, pg, stream: Stream, full: bool, since, batch_rows: int):
        version = pg.info.server_version
        if full and ranges.use_ranges(stream, self.range_readers, self.range_min_bytes, version):
            return ranges.read_parallel(
                pg, lambda: reader.connect(self.dsn), stream, batch_rows, self.range_readers,
                on_batch=lambda: self.pause("range_read", stream.name),
            )  # fmt: skip
        return reader.read_batches(pg, stream, since, batch_rows)

    def cursor_of(self, batch) -> datetime | None:
        return pc.max(batch[CURSOR_FIELD]).as_py()

    def lsn(self, stream: Stream) -> int | None:
        return None


def replicate(
    source_dsn: str,
    destination: Destination,
    *,
    prefix: str = "raw_",
    streams: Sequence[str] | None = None,
    full_refresh: bool | Sequence[str] = False,
    lag_seconds: int = default("replication_lag_seconds"),
    batch_rows: int = default("replication_batch_rows"),
    retries: int = default("replication_retries"),
    progress: Progress | None = None,
    workers: int = default("replication_workers"),
    backoff_seconds: float = 1.0,
    raw_history: bool = default("replication_raw_history"),
    mappings: Mappings | None = None,
    method: str = "cursor",
    range_readers: int = default("replication_range_readers"),
    range_min_bytes: int = default("replication_range_min_mb") << 20,
) -> ReplicationResult:
    """Replicate the streams (default: all 12) from ``source_dsn`` into ``destination``.

    Returns per-stream results; a failed stream is reported in the result (``.ok`` is false)
    and leaves its table and state untouched, while the other streams go on. ``mappings``
    (Airbyte's hashing mappers, :mod:`adw_assets.lib.mappings`) hash fields before they land.
    ``method="cdc"`` reads the changes from the source's replication slot instead of the
    cursor (:mod:`adw_assets.lib.replication.cdc`; ``source_dsn`` is then the CDC role's).
    A full sync of a table of ``range_min_bytes`` or more is read by ``range_readers``
    concurrent COPYs in one snapshot (:mod:`adw_assets.lib.replication.ranges`).
    """
    if method == "cdc":
        from adw_assets.lib.replication import cdc

        return cdc.replicate_cdc(
            source_dsn, destination, prefix=prefix, streams=streams, full_refresh=full_refresh,
            batch_rows=batch_rows, retries=retries, progress=progress, workers=workers,
            backoff_seconds=backoff_seconds, raw_history=raw_history, mappings=mappings,
        )  # fmt: skip
    started = time.perf_counter()
    names, refresh, catalog = plan_streams(
        source_dsn, streams, full_refresh, retries, backoff_seconds, mappings
    )
    workers = min(max(1, workers), len(names))
    namespaces = sorted({prefix + catalog[n].schema for n in names})
    with destination.open_run(namespaces, workers) as target:
        run = _Run(source_dsn, target, prefix=prefix, lag_seconds=lag_seconds,
                   batch_rows=batch_rows, retries=retries, backoff=backoff_seconds,
                   progress=progress, total=len(names), raw_history=raw_history,
                   source=CursorSource(source_dsn, range_readers, range_min_bytes))  # fmt: skip
        order = sorted(names, key=lambda n: -catalog[n].estimated_bytes)
        try:
            done = run_streams(order, lambda n: run.sync(catalog[n], n in refresh),
                               workers=workers)  # fmt: skip
        finally:
            run.close()
    return ReplicationResult(run.sync_id, [done[n] for n in names], time.perf_counter() - started)
