"""What every destination writes alike: Destinations v2 names, ``_airbyte_meta``, and how a
final table follows the source's columns (added and widened columns, the error for the rest).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass

from adw_assets.errors import AdwError
from adw_assets.lib.replication.catalog import Column, Stream

AIRBYTE_COLUMNS = (
    "_airbyte_raw_id",
    "_airbyte_extracted_at",
    "_airbyte_meta",
    "_airbyte_generation_id",
)
"""The columns Destinations v2 puts before the source columns of a final table."""
CDC_CURSOR, CDC_DELETED_AT, CDC_SLOT = "_ab_cdc_lsn", "_ab_cdc_deleted_at", "adw_cdc"
"""CDC (:mod:`cdc`): the cursor of a record's versions, the column set on a delete record (its
row leaves the final table, Destinations v2's CDC deletes), the slot named in the CDC state."""


class SchemaChangeError(AdwError):
    """A source column changed to a type the warehouse column cannot hold."""


def raw_table_name(namespace: str, table: str) -> str:
    return f"{namespace}_raw__stream_{table}"


def airbyte_meta(sync_id: int) -> str:
    """``_airbyte_meta`` of every row a sync writes, as JSON text."""
    return json.dumps({"changes": [], "sync_id": sync_id})


@dataclass(frozen=True)
class ColumnChange:
    """A source column the final table must add (``old`` is None) or widen."""

    column: Column
    old: str | None
    new: str

    def describe(self) -> str:
        if self.old is None:
            return f"added column {self.column.name} {self.new}"
        return f"widened column {self.column.name} {self.old} -> {self.new}"


def column_changes(
    stream: Stream,
    table: str,
    current: dict[str, str],
    type_of: Callable[[Column], str],
    widens: Callable[[str, str], bool],
) -> list[ColumnChange]:
    """What the final table (its ``current`` columns and types; ``table`` names it in the
    error, e.g. ``DuckDB raw_sales.customer``) needs to hold the source's columns, typed by
    ``type_of``. A type change that ``widens`` does not allow raises
    :class:`SchemaChangeError` naming the way out (a full refresh rebuilds the table), and so
    does a table that still holds a column the stream now hashes (``stream.hashed``)."""
    clear = [c for c in stream.hashed if c in current]
    if clear:  # synced before the mapping hashed them: only a rebuild removes the clear values
        raise SchemaChangeError(
            f"{stream.name}: {table} holds {', '.join(clear)} in clear, from syncs before "
            "ADW_REPLICATION_MAPPINGS hashed it. The stream was not synced. Rebuild it with "
            f"`adw replicate --full-refresh {stream.name}`, then purge the raw history "
            "(docs/replication.md, Hashing fields)."
        )
    changes = []
    for col in stream.columns:
        old, new = current.get(col.name), type_of(col)
        if old == new:
            continue
        if old is not None and not widens(old, new):
            raise SchemaChangeError(
                f"{stream.name}: column {col.name!r} changed type in the source from {old} "
                f"({table}) to {col.pg_type} ({new}), which the warehouse column cannot "
                "hold. The stream was not synced and its state did not move. Rebuild "
                f"it with `adw replicate --full-refresh {stream.name}`."
            )
        changes.append(ColumnChange(col, old, new))
    return changes


def dropped_columns(stream: Stream, current: dict[str, str]) -> list[str]:
    """Columns of the final table the source no longer has (kept, null from now on)."""
    names = {c.name for c in stream.columns}
    return [c for c in current if c not in names and c not in AIRBYTE_COLUMNS]
