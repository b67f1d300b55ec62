"""Per-stream replication state in the warehouse: ``airbyte_internal._adw_state``.

One row per replicated table (namespace, name). It is written in the same DuckDB transaction
as the rows it describes, so after a crash the state and the data always agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import duckdb

INTERNAL_SCHEMA = "airbyte_internal"
STATE_TABLE = "_adw_state"

_DDL = f"""
create schema if not exists {INTERNAL_SCHEMA};
create table if not exists {INTERNAL_SCHEMA}.{STATE_TABLE} (
    namespace varchar not null,
    name varchar not null,
    stream varchar not null,
    cursor_field varchar not null,
    cursor_value timestamp,
    generation_id bigint not null,
    sync_id bigint not null,
    rows_read bigint not null,
    rows_inserted bigint not null,
    rows_updated bigint not null,
    updated_at timestamp with time zone not null
);
"""


@dataclass(frozen=True)
class StreamState:
    namespace: str
    name: str
    stream: str
    cursor_field: str
    cursor_value: datetime | None
    generation_id: int
    sync_id: int
    rows_read: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    updated_at: datetime | None = None


def ensure(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(_DDL)


def load_all(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], StreamState]:
    """Every stream's state, keyed by (namespace, name); empty when nothing was synced."""
    exists = con.execute(
        "select count(*) from information_schema.tables where table_schema = ? and table_name = ?",
        [INTERNAL_SCHEMA, STATE_TABLE],
    ).fetchall()[0][0]
    if not exists:
        return {}
    rows = con.execute(
        "select namespace, name, stream, cursor_field, cursor_value, generation_id, sync_id, "
        f"rows_read, rows_inserted, rows_updated, updated_at from {INTERNAL_SCHEMA}.{STATE_TABLE}"
    ).fetchall()
    return {(r[0], r[1]): StreamState(*r) for r in rows}


def next_sync_id(con: duckdb.DuckDBPyConnection) -> int:
    row = con.execute(
        f"select coalesce(max(sync_id), 0) + 1 from {INTERNAL_SCHEMA}.{STATE_TABLE}"
    ).fetchall()[0]
    return int(row[0])


def save(con: duckdb.DuckDBPyConnection, state: StreamState) -> None:
    """Replace the stream's row; call inside the transaction that wrote its data."""
    con.execute(
        f"delete from {INTERNAL_SCHEMA}.{STATE_TABLE} where namespace = ? and name = ?",
        [state.namespace, state.name],
    )
    con.execute(
        f"insert into {INTERNAL_SCHEMA}.{STATE_TABLE} values "
        "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, current_timestamp)",
        [
            state.namespace,
            state.name,
            state.stream,
            state.cursor_field,
            state.cursor_value,
            state.generation_id,
            state.sync_id,
            state.rows_read,
            state.rows_inserted,
            state.rows_updated,
        ],
    )
