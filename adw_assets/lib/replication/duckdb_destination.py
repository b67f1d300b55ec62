"""The DuckDB destination: a warehouse file, one transaction per stream (see :mod:`duckdb_load`).

A run opens the file once; each worker thread syncs its streams on a cursor of its own. Per
run: small row groups, a memory limit and DuckDB threads sized to the cores left per worker,
all undone when the run ends.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import duckdb

from adw_assets.errors import AdwError
from adw_assets.lib import warehouse
from adw_assets.lib.replication.destination import LoadPlan
from adw_assets.lib.replication.duckdb_load import DuckDBStreamLoad, Tables
from adw_assets.lib.replication.state import (
    CDC_COLUMNS,
    CDC_STATE_TABLE,
    INTERNAL_SCHEMA,
    STATE_TABLE,
    States,
    load_states,
)
from adw_assets.settings import checked, default, get_settings, size_bytes

ROW_GROUP_SIZE = 16_384
"""Small row groups: a stream's rows are compressed and written as each group fills, by
DuckDB's threads during the insert, instead of all at the commit's checkpoint (the
AdventureWorks tables each fit in one default 122,880-row group); measured 1.6 -> 1.2 s for a
full sync of the real data. Not DuckDB's default under 2.0 either: scale 100's full sync
took 142 s and a 5.4 GB file with it, against 60 s and 3.6 GB (docs/performance.md)."""

MEMORY_LIMIT = "ADW_REPLICATION_MEMORY_LIMIT"


class DuckDBDestination:
    """Replicate into the DuckDB file at ``path``; ``memory_limit`` caps DuckDB's buffer memory
    during a run (it spills to disk beyond it; ``None`` leaves the setting as it is)."""

    name = "DuckDB"

    def __init__(
        self,
        path: Path,
        *,
        memory_limit: str | None = default("replication_memory_limit"),
        staging_rows: int | None = None,
    ) -> None:
        self.path = Path(path)
        # validated here too: the value may come from a caller, not from the settings
        self.memory_limit = checked(MEMORY_LIMIT, memory_limit) if memory_limit else None
        self.staging_rows = staging_rows or get_settings().replication_staging_rows
        """A full sync commits its staging tables every this many rows (:mod:`duckdb_load`)."""

    @contextmanager
    def open_run(self, namespaces: list[str], workers: int) -> Iterator[DuckDBRun]:
        con = warehouse.connect(self.path, row_group_size=ROW_GROUP_SIZE)
        # fetchall, never fetchone, on this long-lived connection: an unconsumed result keeps
        # a transaction open, which blocks DuckDB's automatic checkpoints (the WAL then grows
        # to the size of the whole sync and is checkpointed, all at once, on close)
        saved_limit = con.execute("select current_setting('memory_limit')").fetchall()[0][0]
        try:
            if self.memory_limit:
                con.execute("set memory_limit = ?", [self.memory_limit])
            memory = MergeMemory(con, size_bytes(self.memory_limit) if self.memory_limit else None)
            # the workers are the parallelism: DuckDB threads beyond the cores left per worker
            # only fight them and PostgreSQL for the CPU (real data, 2 cores: 1.0 -> 0.9 s)
            con.execute(f"set threads = {max(1, (os.cpu_count() or 1) // max(1, workers))}")
            con.execute("begin transaction")
            for schema in [INTERNAL_SCHEMA, *namespaces]:
                con.execute(f"create schema if not exists {warehouse.quote(schema)}")
            table = warehouse.qualified(INTERNAL_SCHEMA, STATE_TABLE)
            states = load_states(lambda sql: con.execute(sql).fetchall(), table)
            con.execute("commit")
            tables, rows = warehouse_tables(con, namespaces), table_rows(con, namespaces)
            yield DuckDBRun(con, states, tables, rows, self.staging_rows, memory)
        finally:
            # checkpoint under the run's memory limit, not on close after the limit is
            # restored (80% of RAM by default): up to 160 MB more at scale 10
            with suppress(Exception):
                con.execute("checkpoint")
            with suppress(Exception):  # the setting is per database, not per connection
                con.execute("set memory_limit = ?", [saved_limit])
            con.close()


class MergeMemory:
    """DuckDB's memory limit during a run: the setting's, plus the room the incremental merges
    asked for (:meth:`~.duckdb_load.DuckDBStreamLoad.make_room`). One limit serves the whole
    database, so the workers' merges add up. The room is kept to the end of the run: the rows a
    merge deleted hold their memory after it commits, until the run's closing checkpoint. A
    full sync asks for none: its staging commits bound what it holds, and a higher limit only
    lets DuckDB keep more (scale 100: a full refresh under 512MB peaked at 1,245 MB, the full
    syncs under 128MB at 840-880 MB)."""

    def __init__(self, con: duckdb.DuckDBPyConnection, base: int | None) -> None:
        self.base, self.extra = base, 0
        self.lock = threading.Lock()
        # a cursor of its own, outside the streams' transactions
        self.cursor = con.cursor() if base is not None else None

    def add(self, room: int) -> None:
        """Raise the limit by ``room`` bytes for the rest of the run."""
        if self.base is None:
            return
        with self.lock:
            self.extra += room
            self.cursor.execute("set memory_limit = ?", [f"{self.base + self.extra}B"])


class DuckDBRun:
    """The warehouse opened for one run: the states, the catalog, a cursor per stream sync."""

    def __init__(self, con: duckdb.DuckDBPyConnection, states: States, tables: Tables,
                 rows: dict[tuple[str, str], int], staging_rows: int,
                 memory: MergeMemory) -> None:  # fmt: skip
        self.con, self.states, self.tables, self.rows = con, states, tables, rows
        self.staging_rows, self.memory = staging_rows, memory

    def cdc_states(self) -> dict[tuple[str, str], int]:
        """CDC: every stream's applied LSN, keyed by (namespace, name); creates the table."""
        table = warehouse.qualified(INTERNAL_SCHEMA, CDC_STATE_TABLE)
        cols = ", ".join(f"{n} {t}" for n, t in CDC_COLUMNS)
        self.con.execute(f"create table if not exists {table} ({cols})")
        rows = self.con.execute(f"select namespace, name, lsn from {table}").fetchall()
        return {(r[0], r[1]): int(r[2]) for r in rows}

    def stream(self, plan: LoadPlan) -> DuckDBStreamLoad:
        # a cursor of the sync's own (0.3 ms), closed when it ends: a rollback DuckDB refuses
        # (out of memory) leaves its transaction aborted, which no later sync may inherit
        cur = self.con.cursor()
        cur.execute(f"use {warehouse.ATTACHED_CATALOG}; set TimeZone = 'UTC'")
        rows = self.rows.get((plan.namespace, plan.stream.table), 0)
        return DuckDBStreamLoad(cur, plan, self.tables, self.staging_rows, rows, self.memory.add)

    def explain(self, stream: str, exc: Exception) -> AdwError | None:
        """Out of DuckDB's memory limit, in a statement or in the commit: DuckDB's own line and
        the setting to raise (DuckDB's advice after it does not apply: adw sets the limit)."""
        if first := _out_of_memory(exc):
            return AdwError(
                f"{stream}: DuckDB {first}. No state was advanced for this stream; raise "
                f"{MEMORY_LIMIT} (docs/performance.md: what each scale needs) and run again."
            )
        return None


_COMMIT_FAILED = "TransactionContext Error: Failed to commit: "


def _out_of_memory(exc: Exception) -> str | None:
    """DuckDB's first line when ``exc`` is running out of its memory limit, in a statement or
    in the commit (which DuckDB reports as a failed transaction)."""
    lines = str(exc).strip().splitlines()
    first = lines[0] if lines else ""
    if isinstance(exc, duckdb.OutOfMemoryException):
        return first
    if isinstance(exc, duckdb.TransactionException) and first.startswith(_COMMIT_FAILED):
        cause = first.removeprefix(_COMMIT_FAILED)
        if "block of size" in cause and " used)" in cause:
            return f"Out of Memory Error at the commit: {cause}"
    return None


def warehouse_tables(con: duckdb.DuckDBPyConnection, schemas: list[str]) -> Tables:
    """``(schema, table) -> {column: type}`` for the tables of ``schemas`` and of
    ``airbyte_internal``, types spelled as ``information_schema`` spells them."""
    rows = con.execute(
        "select schema_name, table_name, column_name, data_type from duckdb_columns() "
        "where database_name = current_database() and schema_name in (select unnest(?)) "
        "order by schema_name, table_name, column_index",
        [[*schemas, INTERNAL_SCHEMA]],
    ).fetchall()
    out: Tables = {}
    for schema, table, column, dtype in rows:
        out.setdefault((schema, table), {})[column] = dtype
    return out


def table_rows(con: duckdb.DuckDBPyConnection, schemas: list[str]) -> dict[tuple[str, str], int]:
    """``(schema, table) -> rows`` (DuckDB's estimate) for the tables of ``schemas``: what an
    incremental merge's deletes may hold follows it (:meth:`DuckDBStreamLoad.make_room`)."""
    rows = con.execute(
        "select schema_name, table_name, estimated_size from duckdb_tables() "
        "where database_name = current_database() and schema_name in (select unnest(?))",
        [schemas],
    ).fetchall()
    return {(schema, table): n for schema, table, n in rows}
