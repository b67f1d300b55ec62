"""The destination interface: what the replication engine needs from a warehouse.

As dlt passes the destination to the pipeline, :func:`~adw_assets.lib.replication.replicate`
takes a :class:`Destination` (:class:`~adw_assets.lib.replication.duckdb_destination.
DuckDBDestination`, :class:`~adw_assets.lib.replication.bigquery_destination.
BigQueryDestination`). The engine plans each stream's sync (full or incremental, generation,
cursor window), reads the source, retries, reports progress and failures, builds the state
and decides whether to commit; a destination only creates and evolves tables, writes batches
and commits a stream's data with its state atomically.

The engine drives one stream's load in this order (``ADW_TEST_PAUSE_AT`` points in brackets,
see :mod:`faults`)::

    load = run.stream(LoadPlan(...))  # on the worker's thread, several in parallel
    changes = load.prepare()          # [stream_start]
    load.write(batch, at) ...         # [batch_read] before each, [batch_written] after each
    load.finish()
    if nothing changed: load.rollback()
    else: load.write_state(state)     # [before_state] before, [before_commit] after
          load.commit()               # [after_commit]
    # any error: load.rollback(), then the engine retries or reports the stream failed
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

import pyarrow as pa

from adw_assets.errors import AdwError
from adw_assets.lib.replication.catalog import Stream
from adw_assets.lib.replication.state import States, StreamState
from adw_assets.lib.source.catalog import CURSOR_FIELD


@dataclass(frozen=True)
class LoadPlan:
    """What the engine planned for one stream's sync, for the destination to load."""

    stream: Stream
    namespace: str
    """Where the final table goes: the prefix and the source schema, e.g. ``raw_sales``."""
    generation: int
    sync_id: int
    full: bool
    """Replace the final table's rows (first sync, full refresh) rather than merge."""
    raw_history: bool
    """Also append the records read to the raw history table."""
    cursor_field: str = CURSOR_FIELD
    """What orders the versions of a record: ``modifieddate``, or ``_ab_cdc_lsn`` (CDC, whose
    records carry ``_ab_cdc_deleted_at``: a deleted record leaves the final table)."""


class StreamLoad(Protocol):
    """One stream's sync into the warehouse, committed (data and state) or rolled back."""

    full: bool
    """Whether the sync replaces the final table's rows. The engine plans it; ``prepare``
    may turn an incremental sync full (the final table does not exist)."""
    generation: int
    """``_airbyte_generation_id`` of the rows written; ``prepare`` may reset it."""
    rows_read: int
    inserted: int
    updated: int
    """Rows the commit inserts into / replaces in the final table (final after ``finish``)."""

    def prepare(self) -> list[str]:
        """Create or evolve the stream's tables; return the schema changes applied. Raises
        :class:`~adw_assets.lib.replication.layout.SchemaChangeError` when the final table
        cannot hold a source column (and the sync is not full)."""
        ...

    def write(self, batch: pa.Table, extracted_at: datetime) -> None:
        """Write one batch read from the source (columns as the catalog types them)."""
        ...

    def finish(self) -> None:
        """Every batch is written: settle ``inserted``, ``updated`` and ``changed``."""
        ...

    @property
    def changed(self) -> bool:
        """Whether committing would write any row (final table or raw history)."""
        ...

    def write_state(self, state: StreamState) -> None:
        """Replace the stream's state row, in the same transaction as its data."""
        ...

    def commit(self) -> None:
        """Make the data and the state visible together (all or nothing)."""
        ...

    def rollback(self) -> None:
        """Abandon the sync: the stream keeps its old data and state. Never raises."""
        ...


class DestinationRun(Protocol):
    """A destination prepared for one replication run."""

    states: States
    """Every stream's state when the run started, keyed by (namespace, table)."""

    def stream(self, plan: LoadPlan) -> StreamLoad:
        """Open the load of one stream (called on the worker's thread)."""
        ...

    def explain(self, stream: str, exc: Exception) -> AdwError | None:
        """The one-line error, with what to do, for a failure this destination knows (DuckDB
        out of its memory limit); ``None`` for the engine's own wording."""
        ...


class Destination(Protocol):
    """A warehouse the engine replicates into."""

    name: str
    """For messages: ``DuckDB``, ``BigQuery``."""

    def open_run(
        self, namespaces: list[str], workers: int
    ) -> AbstractContextManager[DestinationRun]:
        """Prepare a run over ``namespaces`` with ``workers`` streams at a time: create the
        namespaces, the internal schema and the state table, read the states; undo any
        per-run tuning when the context exits."""
        ...
