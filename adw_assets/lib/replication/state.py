"""Per-stream replication state in the warehouse: ``airbyte_internal._adw_state``.

One row per replicated table (namespace, name). A destination writes it in the same
transaction as the rows it describes, so after a crash the state and the data always agree.
The engine builds the rows; :func:`load_states` creates and reads the table in any warehouse,
each destination writes it in its own SQL.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

INTERNAL_SCHEMA = "airbyte_internal"
STATE_TABLE = "_adw_state"

COLUMNS: tuple[tuple[str, str], ...] = (
    ("namespace", "VARCHAR"),
    ("name", "VARCHAR"),
    ("stream", "VARCHAR"),
    ("cursor_field", "VARCHAR"),
    ("cursor_value", "TIMESTAMP"),
    ("generation_id", "BIGINT"),
    ("sync_id", "BIGINT"),
    ("rows_read", "BIGINT"),
    ("rows_inserted", "BIGINT"),
    ("rows_updated", "BIGINT"),
    ("updated_at", "TIMESTAMP WITH TIME ZONE"),
)
"""The state table's columns and their DuckDB types, in :class:`StreamState` order."""
NULLABLE = {"cursor_value"}


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
    cdc_lsn: int | None = None
    """CDC only: the LSN up to which the stream's changes are applied (the slot's position
    after the last transaction written), kept in :data:`CDC_STATE_TABLE`, not in this row."""


CDC_STATE_TABLE = "_adw_cdc_state"
CDC_COLUMNS: tuple[tuple[str, str], ...] = (
    ("namespace", "VARCHAR"),
    ("name", "VARCHAR"),
    ("slot", "VARCHAR"),
    ("lsn", "BIGINT"),
    ("updated_at", "TIMESTAMP WITH TIME ZONE"),
)
"""One row per stream replicated by CDC, written in the transaction of its data."""


States = dict[tuple[str, str], StreamState]
"""Every stream's state, keyed by (namespace, name)."""


def load_states(
    query: Callable[[str], Iterable[tuple]], table: str, type_of: Callable[[str], str] = str
) -> States:
    """Create the state ``table`` unless it exists (its DuckDB types mapped by ``type_of``),
    then read every stream's state, keyed by (namespace, name). ``query`` runs a statement
    in the warehouse and returns its rows."""
    cols = [f"{n} {type_of(t)}{'' if n in NULLABLE else ' NOT NULL'}" for n, t in COLUMNS]
    query(f"create table if not exists {table} ({', '.join(cols)})")
    rows = query(f"select {', '.join(n for n, _ in COLUMNS)} from {table}")
    return {(r[0], r[1]): StreamState(*r) for r in rows}
