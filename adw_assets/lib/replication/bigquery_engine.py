"""The embedded replicator writing to BigQuery: PostgreSQL -> BigQuery, Airbyte
"incremental | append + deduped", for teams that run production without Airbyte.

Same reader, catalog, scheduling, results and progress as the DuckDB engine; each stream's
batches are staged by load jobs and committed with the stream's state in one BigQuery
transaction (see :mod:`bigquery_writer`), so a kill at any point re-runs safely.
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from adw_assets.errors import AdwError
from adw_assets.lib.replication import reader
from adw_assets.lib.replication.bigquery_writer import (
    STATE_TABLE,
    BigQueryStreamWriter,
    state_table_sql,
)
from adw_assets.lib.replication.catalog import Stream
from adw_assets.lib.replication.engine import Progress, _Run, plan_streams
from adw_assets.lib.replication.result import ReplicationResult, StreamResult
from adw_assets.lib.replication.schedule import run_streams
from adw_assets.lib.replication.state import INTERNAL_SCHEMA, StreamState
from adw_assets.lib.source.catalog import CURSOR_FIELD
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


class _BigQueryRun(_Run):
    """The DuckDB engine's run (retries, progress, failures) writing to BigQuery."""

    REPORTED = (AdwError,)  # a BigQuery or psycopg error is reported with its type

    def __init__(self, dsn, client, **kwargs) -> None:
        super().__init__(dsn, None, **kwargs)
        self.client = client

    def _sync_once(self, stream: Stream, full: bool, started: float) -> StreamResult:
        namespace, prev, full, generation, since = self._plan(stream, full)
        writer = BigQueryStreamWriter(self.client, stream, namespace, generation=generation,
                                      sync_id=self.sync_id, full=full,
                                      raw_history=self.raw_history)  # fmt: skip
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
    raw_history: bool = True,
) -> ReplicationResult:
    """Replicate the streams (default: all 12) from ``source_dsn`` into BigQuery through
    ``client`` (see :func:`adw_assets.lib.warehouse.bigquery.make_client`).

    A failed stream is reported in the result and leaves its tables and state untouched.
    """
    started = time.perf_counter()
    names, refresh, catalog = plan_streams(
        source_dsn, streams, full_refresh, retries, backoff_seconds
    )
    for dataset in sorted({INTERNAL_SCHEMA} | {prefix + catalog[n].schema for n in names}):
        bq.ensure_dataset(client, dataset, location)
    bq.run(client, state_table_sql(client.project))
    states = load_states(client)
    sync_id = max((s.sync_id for s in states.values()), default=0) + 1
    run = _BigQueryRun(source_dsn, client, prefix=prefix, lag_seconds=lag_seconds,
                       batch_rows=batch_rows, retries=retries, backoff=backoff_seconds,
                       progress=progress, sync_id=sync_id, states=states,
                       total=len(names), raw_history=raw_history)  # fmt: skip
    order = sorted(names, key=lambda n: -catalog[n].estimated_bytes)
    try:
        done = run_streams(
            order,
            lambda n: run.sync(catalog[n], n in refresh),
            workers=min(max(1, workers), len(order)),
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
