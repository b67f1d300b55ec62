"""The embedded replicator writing to BigQuery: PostgreSQL -> BigQuery, Airbyte
"incremental | append + deduped", for teams that run production without Airbyte.

Same reader, catalog, scheduling, results and progress as the DuckDB engine; each stream's
batches are staged by load jobs and committed with the stream's state in one BigQuery
transaction (see :mod:`bigquery_writer`), so a kill at any point re-runs safely.
"""

from __future__ import annotations

import contextlib
import random
import threading
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import psycopg

from adw_assets.errors import AdwError, SourceError
from adw_assets.lib.replication import faults, reader
from adw_assets.lib.replication.bigquery_writer import (
    STATE_TABLE,
    BigQueryStreamWriter,
    state_table_sql,
)
from adw_assets.lib.replication.catalog import CURSOR_FIELD, Stream
from adw_assets.lib.replication.engine import Progress, _discover, _redact, resolve_streams
from adw_assets.lib.replication.result import ProgressEvent, ReplicationResult, StreamResult
from adw_assets.lib.replication.schedule import run_streams
from adw_assets.lib.replication.state import INTERNAL_SCHEMA, StreamState
from adw_assets.lib.warehouse import bigquery as bq

CONFLICT_RETRIES = 6
"""Commits retried when BigQuery aborts a transaction for a concurrent update (of the shared
state table by another stream's commit)."""


def load_states(client) -> dict[tuple[str, str], StreamState]:
    """Every stream's state in ``airbyte_internal._adw_state``, keyed by (namespace, name)."""
    if not bq.table_exists(client, INTERNAL_SCHEMA, STATE_TABLE):
        return {}
    rows = bq.run(
        client,
        "select namespace, name, stream, cursor_field, cursor_value, generation_id, sync_id, "
        "rows_read, rows_inserted, rows_updated, updated_at from "
        f"{bq.table_ref(client.project, INTERNAL_SCHEMA, STATE_TABLE)}",
    )
    return {(r[0], r[1]): StreamState(*r) for r in rows}


def _is_conflict(exc: Exception) -> bool:
    text = str(exc).lower()
    return "concurrent update" in text or "transaction is aborted" in text


class _BigQueryRun:
    def __init__(self, dsn, client, *, prefix, lag_seconds, batch_rows, retries, backoff,
                 progress, sync_id, states, total) -> None:  # fmt: skip
        self.dsn, self.client, self.prefix = dsn, client, prefix
        self.lag = timedelta(seconds=lag_seconds)
        self.batch_rows, self.retries, self.backoff = batch_rows, retries, backoff
        self.progress, self.sync_id, self.states = progress, sync_id, states
        self.total, self.done = total, 0
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
            self.progress(ProgressEvent(stream, phase, rows, seconds, message, self.done,
                                        self.total))  # fmt: skip

    def pg(self) -> psycopg.Connection:
        conn = getattr(self.local, "pg", None)
        if conn is None or conn.closed:
            conn = reader.connect(self.dsn)
            self.local.pg = conn
            with self.lock:
                self.pg_connections.append(conn)
        return conn

    def drop_pg(self) -> None:
        conn, self.local.pg = getattr(self.local, "pg", None), None
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.close()

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
            except Exception as exc:  # AdwError, a BigQuery error or a bug: report, go on
                err = exc if isinstance(exc, AdwError) else AdwError(f"{type(exc).__name__}: {exc}")
                return self._failed(stream, started, err, attempt + 1)

    def _failed(self, stream: Stream, started: float, exc: Exception, attempts: int):
        seconds = time.perf_counter() - started
        message = str(exc) if stream.name in str(exc) else f"{stream.name}: {exc}"
        self.emit(stream.name, "failed", seconds=seconds, message=message)
        return StreamResult(stream.name, self.prefix + stream.schema, stream.table, "failed",
                            seconds=seconds, error=message, attempts=attempts)  # fmt: skip

    def _sync_once(self, stream: Stream, full: bool, started: float) -> StreamResult:
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
        writer = BigQueryStreamWriter(self.client, stream, namespace, generation=generation,
                                      sync_id=self.sync_id, full=full)  # fmt: skip
        try:
            changes = writer.prepare()
            if writer.forgot_state:
                generation = writer.generation = 0
            self.pause("stream_start", stream.name)
            extracted_at = datetime.now(UTC)
            for batch in reader.read_batches(self.pg(), stream, since, self.batch_rows):
                self.pause("batch_read", stream.name)
                writer.write(batch)
                self.emit(stream.name, "batch", writer.rows_read, time.perf_counter() - started)
                self.pause("batch_written", stream.name)
            cursor = writer.max_cursor
            if not writer.full and prev is not None and prev.cursor_value is not None:
                cursor = max(c for c in (cursor, prev.cursor_value) if c is not None)
            writer.plan()
            self.pause("before_state", stream.name)
            state = StreamState(
                namespace, stream.table, stream.name, CURSOR_FIELD, cursor, generation,
                self.sync_id, writer.rows_read, writer.inserted, writer.updated,
            )  # fmt: skip
            self.pause("before_commit", stream.name)
            self._commit(writer, state, extracted_at)
            self.pause("after_commit", stream.name)
        finally:
            writer.cleanup()
        return StreamResult(
            stream.name, namespace, stream.table, "ok", writer.rows_read, writer.inserted,
            writer.updated, cursor, generation, self.sync_id, writer.full,
            time.perf_counter() - started, schema_changes=changes,
        )  # fmt: skip

    def _commit(self, writer: BigQueryStreamWriter, state: StreamState, at: datetime) -> None:
        for attempt in range(CONFLICT_RETRIES + 1):
            try:
                writer.commit(state, at)
                return
            except Exception as exc:
                if not _is_conflict(exc) or attempt == CONFLICT_RETRIES:
                    raise
                time.sleep(min(8.0, 0.5 * 2**attempt) * (0.5 + random.random()))


def replicate_bigquery(
    source_dsn: str,
    client,
    *,
    location: str = bq.DEFAULT_LOCATION,
    prefix: str = "raw_",
    streams: Sequence[str] | None = None,
    full_refresh: bool | Sequence[str] = False,
    lag_seconds: int = 300,
    batch_rows: int = 100_000,
    retries: int = 3,
    progress: Progress | None = None,
    workers: int = 2,
    backoff_seconds: float = 1.0,
) -> ReplicationResult:
    """Replicate the streams (default: all 12) from ``source_dsn`` into BigQuery through
    ``client`` (see :func:`adw_assets.lib.warehouse.bigquery.make_client`).

    A failed stream is reported in the result and leaves its tables and state untouched.
    """
    started = time.perf_counter()
    names = resolve_streams(streams)
    if isinstance(full_refresh, bool):
        refresh = set(names) if full_refresh else set()
    else:
        refresh = set(resolve_streams(full_refresh))
        names += [n for n in sorted(refresh) if n not in names]
    catalog = _discover(source_dsn, names, retries, backoff_seconds)
    missing = [n for n in names if n not in catalog]
    if missing:
        raise SourceError(
            f"the source has no table {', '.join(missing)}; is it the AdventureWorks database? "
            "Run `adw source start` (embedded) or check ADW_SOURCE_DSN."
        )
    for dataset in sorted({INTERNAL_SCHEMA} | {prefix + catalog[n].schema for n in names}):
        bq.ensure_dataset(client, dataset, location)
    bq.run(client, state_table_sql(client.project))
    states = load_states(client)
    sync_id = max((s.sync_id for s in states.values()), default=0) + 1
    run = _BigQueryRun(source_dsn, client, prefix=prefix, lag_seconds=lag_seconds,
                       batch_rows=batch_rows, retries=retries, backoff=backoff_seconds,
                       progress=progress, sync_id=sync_id, states=states,
                       total=len(names))  # fmt: skip
    order = sorted(names, key=lambda n: -catalog[n].estimated_bytes)
    try:
        done = run_streams(
            order,
            lambda n: run.sync(catalog[n], n in refresh),
            workers=min(max(1, workers), len(order)),
            heavy=lambda _n: False,  # memory is one batch per worker, whatever the table
        )
    finally:
        for conn in run.pg_connections:
            conn.close()
    return ReplicationResult(sync_id, [done[n] for n in names], time.perf_counter() - started)


def replicate_bigquery_from_settings(
    source_dsn: str, settings, streams, full_refresh, progress, **kwargs
) -> ReplicationResult:
    """:func:`replicate_bigquery` with the client from the ``ADW_BQ_*`` settings (the
    ``replicate_from_settings`` hook; DuckDB-only tuning such as ``memory_limit`` is ignored)."""
    kwargs.pop("memory_limit", None)
    config = bq.bigquery_config(settings)
    return replicate_bigquery(
        source_dsn,
        bq.make_client(config),
        location=config.location,
        streams=streams,
        full_refresh=full_refresh,
        progress=progress,
        **kwargs,
    )
