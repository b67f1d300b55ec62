"""Write one stream into DuckDB in the Airbyte Destinations v2 layout, inside one transaction.

* final table ``<namespace>.<table>``: one row per primary key; the greatest cursor wins,
  ties go to the latest extraction (a re-read identical row is left as it is);
* raw history ``airbyte_internal.<namespace>_raw__stream_<table>``: every row read, its
  ``_airbyte_data`` built as JSON by DuckDB (``to_json(struct_pack(...))``).

A full sync (first sync, or full refresh) recreates the final table and bulk-inserts each
batch; an incremental sync folds each batch in by primary key (delete + insert).
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from adw_assets.errors import AdwError
from adw_assets.lib.replication.catalog import CURSOR_FIELD, Stream, is_widening
from adw_assets.lib.replication.state import INTERNAL_SCHEMA
from adw_assets.lib.warehouse import qualified, quote, table_columns, table_exists

AIRBYTE_COLUMNS = {
    "_airbyte_raw_id": "VARCHAR",
    "_airbyte_extracted_at": "TIMESTAMP WITH TIME ZONE",
    "_airbyte_meta": "JSON",
    "_airbyte_generation_id": "BIGINT",
}
RAW_DDL = (
    "_airbyte_raw_id varchar not null, _airbyte_extracted_at timestamp with time zone not null, "
    "_airbyte_loaded_at timestamp with time zone, "
    # zstd: the raw history is cold; smaller and cheaper to write than the default analysis
    "_airbyte_data json not null using compression zstd, "
    "_airbyte_meta json, _airbyte_generation_id bigint"
)


class SchemaChangeError(AdwError):
    """A source column changed to a type the warehouse column cannot hold."""


def raw_table_name(namespace: str, table: str) -> str:
    return f"{namespace}_raw__stream_{table}"


class StreamWriter:
    """Writes the batches of one stream sync; the caller owns the transaction."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        stream: Stream,
        namespace: str,
        *,
        generation: int,
        sync_id: int,
        full: bool,
    ) -> None:
        self.con = con
        self.stream = stream
        self.namespace = namespace
        self.final = qualified(namespace, stream.table)
        self.raw = qualified(INTERNAL_SCHEMA, raw_table_name(namespace, stream.table))
        self.generation = generation
        self.full = full
        self.meta = json.dumps({"changes": [], "sync_id": sync_id})
        self.dropped: list[str] = []
        self.max_cursor: datetime | None = None
        self.rows_read = self.inserted = self.updated = 0

    # -- schema -----------------------------------------------------------------------

    def prepare(self) -> list[str]:
        """Create or evolve the tables; return the schema changes applied (for metadata)."""
        con, changes = self.con, []
        con.execute(f"create table if not exists {self.raw} ({RAW_DDL})")
        exists = table_exists(con, self.namespace, self.stream.table)
        if self.full or not exists:
            self.full = True
            cols = [f"{quote(n)} {t}" for n, t in AIRBYTE_COLUMNS.items()]
            cols += [f"{quote(c.name)} {c.duck_type}" for c in self.stream.columns]
            con.execute(f"drop table if exists {self.final}")
            con.execute(f"create table {self.final} ({', '.join(cols)})")
            return changes
        current = table_columns(con, self.namespace, self.stream.table)
        for col in self.stream.columns:
            old = current.get(col.name)
            if old is None:
                con.execute(
                    f"alter table {self.final} add column {quote(col.name)} {col.duck_type}"
                )
                changes.append(f"added column {col.name} {col.duck_type}")
            elif old != col.duck_type:
                if not is_widening(old, col.duck_type):
                    raise SchemaChangeError(
                        f"{self.stream.name}: column {col.name!r} changed type in the source from "
                        f"{old} (warehouse {self.namespace}.{self.stream.table}) to "
                        f"{col.pg_type} ({col.duck_type}), which the warehouse column cannot "
                        "hold. The stream was not synced and its state did not move. Rebuild it "
                        f"with `adw replicate --full-refresh {self.stream.name}`."
                    )
                con.execute(
                    f"alter table {self.final} alter column {quote(col.name)} "
                    f"set data type {col.duck_type}"
                )
                changes.append(f"widened column {col.name} {old} -> {col.duck_type}")
        names = {c.name for c in self.stream.columns}
        self.dropped = [c for c in current if c not in names and c not in AIRBYTE_COLUMNS]
        return changes

    # -- data -------------------------------------------------------------------------

    def write(self, batch: pa.Table, extracted_at: datetime) -> None:
        """Append the batch to the raw history and fold it into the final table.

        Raw ids are derived from a random salt and the row's index in the batch, so the raw
        and final statements read the Arrow batch directly and agree without a staging copy.
        """
        if batch.num_rows == 0:
            return
        con, cols = self.con, self.stream.columns
        # from_buffers, not pa.array(numpy): the latter imports pandas (0.5 s) on first use
        n = batch.num_rows
        index = pa.Array.from_buffers(pa.int64(), n, [None, pa.py_buffer(np.arange(n).tobytes())])
        view = f"_adw_batch_{id(self)}"
        con.register(view, batch.append_column("_adw_idx", index))
        raw_id = f"cast(cast(md5('{uuid.uuid4().hex}' || _adw_idx) as uuid) as varchar)"
        try:
            data = ", ".join(f"{quote(c.name)} := {_value(c)}" for c in cols)
            con.execute(
                f"insert into {self.raw} select {raw_id}, ?, current_timestamp, "
                f"to_json(struct_pack({data})), cast(? as json), ? from {view}",
                [extracted_at, self.meta, self.generation],
            )
            values = ", ".join(f"{_value(c)} as {quote(c.name)}" for c in cols)
            rows = f"select {raw_id} as _airbyte_raw_id, _adw_idx as _adw_seq, {values} from {view}"
            if self.full:
                self._insert(rows, extracted_at)
            else:
                self._merge(rows, extracted_at)
        finally:
            con.unregister(view)
        self.rows_read += batch.num_rows
        if CURSOR_FIELD in batch.column_names:
            top = pc.max(batch[CURSOR_FIELD]).as_py()
            if top is not None and (self.max_cursor is None or top > self.max_cursor):
                self.max_cursor = top

    def _insert(self, rows: str, extracted_at: datetime) -> None:
        names = ", ".join(quote(c.name) for c in self.stream.columns)
        n = self.con.execute(
            f"insert into {self.final} (_airbyte_raw_id, _airbyte_extracted_at, _airbyte_meta, "
            f"_airbyte_generation_id, {names}) select _airbyte_raw_id, ?, cast(? as json), ?, "
            f"{names} from ({rows})",
            [extracted_at, self.meta, self.generation],
        ).fetchall()[0][0]
        self.inserted += int(n)

    def _merge(self, rows: str, extracted_at: datetime) -> None:
        """Fold the batch in by primary key: delete the rows it replaces, insert the winners.

        Delete + insert rather than UPDATE: DuckDB appends the new versions and marks the old
        ones deleted, so neither the statement nor the next checkpoint rewrites the (large,
        compressed) row groups the old versions live in.
        """
        con = self.con
        cols = [quote(c.name) for c in self.stream.columns]
        dropped = [quote(c) for c in self.dropped]
        pk = [quote(c) for c in self.stream.primary_key]
        cursor = quote(CURSOR_FIELD)
        new_row = ", ".join([f"s.{c}" for c in cols] + ["null"] * len(dropped))
        old_row = ", ".join([f"f.{c}" for c in cols] + [f"f.{c}" for c in dropped])
        # greatest cursor wins; a tie goes to the latest extraction (the row read last), and
        # a row identical to the one in the warehouse is left alone
        con.execute(
            "create or replace temp table _adw_apply as select s.*, "
            f"f.{pk[0]} is not null as _adw_existed from (select * from ({rows}) s qualify "
            f"row_number() over (partition by {', '.join('s.' + c for c in pk)} order by "
            f"s.{cursor} desc nulls last, s._adw_seq desc) = 1) s left join {self.final} f "
            f"on {' and '.join(f'f.{c} = s.{c}' for c in pk)} where f.{pk[0]} is null or "
            f"((s.{cursor} >= f.{cursor} or f.{cursor} is null) "
            f"and row({new_row}) is distinct from row({old_row}))"
        )
        existed, new = con.execute(
            "select count(*) filter (where _adw_existed), count(*) filter (where not "
            "_adw_existed) from _adw_apply"
        ).fetchall()[0]
        if existed:
            con.execute(
                f"delete from {self.final} f using _adw_apply a where a._adw_existed and "
                + " and ".join(f"f.{c} = a.{c}" for c in pk)
            )
        if existed or new:
            names = ", ".join(cols)
            con.execute(
                f"insert into {self.final} (_airbyte_raw_id, _airbyte_extracted_at, "
                f"_airbyte_meta, _airbyte_generation_id, {names}) select _airbyte_raw_id, ?, "
                f"cast(? as json), ?, {names} from _adw_apply",
                [extracted_at, self.meta, self.generation],
            )
        con.execute("drop table _adw_apply")
        self.inserted += int(new)
        self.updated += int(existed)


def _value(column) -> str:
    """The column read from the Arrow batch, cast where Arrow's type is not the final one."""
    if column.duck_type in _CAST_FROM_ARROW:
        return f"cast({quote(column.name)} as {column.duck_type})"
    return quote(column.name)


_CAST_FROM_ARROW = {"TIME", "TIMESTAMP WITH TIME ZONE"}
