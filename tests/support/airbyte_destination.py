"""What an Airbyte sync writes, for the Airbyte API stand-in: the source rows read as the
replication role, written to DuckDB in the Destinations v2 layout (docs/ARCHITECTURE.md).

It uses the embedded replicator (``adw_assets.lib.replication.replicate``) when it is
installed, the engine that writes these same tables locally; until then a small writer
below does incremental | append + deduped itself: rows with ``modifieddate >=`` the saved
cursor are appended to the raw table and upserted by primary key into the final table.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from pathlib import Path

import duckdb
import psycopg
import pyarrow as pa

from adw_assets.lib.airbyte.catalog import CURSOR_FIELD, SourceStream


@dataclass
class StreamWrite:
    records: int
    bytes: int
    cursor: str | None


_ARROW = {
    "smallint": pa.int16(),
    "integer": pa.int32(),
    "bigint": pa.int64(),
    "boolean": pa.bool_(),
    "date": pa.date32(),
    "timestamp without time zone": pa.timestamp("us"),
    "timestamp with time zone": pa.timestamp("us", tz="UTC"),
    "double precision": pa.float64(),
    "real": pa.float32(),
}


def _arrow_types(pg: psycopg.Connection, s: SourceStream) -> list[tuple[str, pa.DataType]]:
    rows = pg.execute(
        "select column_name, data_type, numeric_precision, numeric_scale"
        " from information_schema.columns where table_schema = %s and table_name = %s"
        " order by ordinal_position",
        (s.namespace, s.name),
    ).fetchall()
    types = []
    for name, data_type, precision, scale in rows:
        if data_type == "numeric":
            types.append((name, pa.decimal128(precision or 38, scale or 0)))
        else:
            types.append((name, _ARROW.get(data_type, pa.string())))
    return types


def _value(v):
    if isinstance(v, uuid.UUID):
        return str(v)
    return v


def write_stream(
    pg: psycopg.Connection,
    db: duckdb.DuckDBPyConnection,
    s: SourceStream,
    *,
    namespace: str,
    cursor: str | None,
    sync_id: int,
    generation: int,
) -> StreamWrite:
    types = _arrow_types(pg, s)
    names = [n for n, _ in types]
    quoted = ", ".join(f'"{n}"' for n in names)
    select = f'select {quoted} from "{s.namespace}"."{s.name}"'
    if cursor is not None:
        rows = pg.execute(select + f" where {CURSOR_FIELD} >= %s", (cursor,)).fetchall()
    else:
        rows = pg.execute(select).fetchall()
    columns = list(zip(*rows, strict=True)) if rows else [[] for _ in names]
    staged = pa.table(
        {
            n: pa.array([_value(v) for v in col], type=t)
            for (n, t), col in zip(types, columns, strict=True)
        }
    )
    final = f'"{namespace}"."{s.name}"'
    raw = f'airbyte_internal."{namespace}_raw__stream_{s.name}"'
    db.execute(f'create schema if not exists "{namespace}"')
    db.execute("create schema if not exists airbyte_internal")
    db.register("_staged", staged)
    db.execute(
        "create or replace temp table _rows as select _staged.*,"
        " cast(uuid() as varchar) as _airbyte_raw_id,"
        " get_current_timestamp() as _airbyte_extracted_at, to_json(_staged) as _airbyte_data,"
        f" json_object('changes', json_array(), 'sync_id', {sync_id}) as _airbyte_meta,"
        f" cast({generation} as bigint) as _airbyte_generation_id from _staged"
    )
    db.execute(
        f"create table if not exists {raw} (_airbyte_raw_id varchar, _airbyte_extracted_at"
        " timestamptz, _airbyte_loaded_at timestamptz, _airbyte_data json, _airbyte_meta json,"
        " _airbyte_generation_id bigint)"
    )
    db.execute(
        f"insert into {raw} select _airbyte_raw_id, _airbyte_extracted_at,"
        " get_current_timestamp(), _airbyte_data, _airbyte_meta, _airbyte_generation_id"
        " from _rows"
    )
    db.execute(
        f"create table if not exists {final} as select * exclude (_airbyte_data) from _rows limit 0"
    )
    if s.primary_key:
        match = " and ".join(f'f."{k}" = r."{k}"' for k in s.primary_key)
        db.execute(f"delete from {final} f using _rows r where {match}")
    db.execute(f"insert into {final} by name select * exclude (_airbyte_data) from _rows")
    db.unregister("_staged")
    new_cursor = db.execute(f"select cast(max({CURSOR_FIELD}) as varchar) from {final}").fetchone()[
        0
    ]
    size = sum(len(str(v)) for row in rows for v in row if v is not None)
    return StreamWrite(records=len(rows), bytes=size, cursor=new_cursor or cursor)


def write_streams(
    source_dsn: str,
    duckdb_path: Path,
    streams: list[SourceStream],
    *,
    namespace_format: str,
    cursors: dict[str, str | None],
    sync_id: int,
    generation: int = 0,
) -> dict[str, StreamWrite]:
    """Sync every stream in one DuckDB transaction; returns what each stream wrote."""
    out = {}
    duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    with psycopg.connect(source_dsn) as pg, duckdb.connect(str(duckdb_path)) as db:
        db.execute("begin")
        for s in streams:
            namespace = namespace_format.replace("${SOURCE_NAMESPACE}", s.namespace)
            out[s.name] = write_stream(
                pg,
                db,
                s,
                namespace=namespace,
                cursor=cursors.get(s.name),
                sync_id=sync_id,
                generation=generation,
            )
        db.execute("commit")
    return out
