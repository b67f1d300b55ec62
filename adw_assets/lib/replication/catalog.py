"""The source catalog: columns, exact types and primary keys of each stream, from pg_catalog.

Each PostgreSQL type maps to one DuckDB type (the warehouse column), one Arrow type (how the
COPY CSV text is parsed) and one select expression (how the value is rendered by COPY).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace

import psycopg
import pyarrow as pa
from psycopg import sql

from adw_assets.lib.mappings import POSTGRES_DIGESTS, Mappings

_CATALOG_SQL = """
select n.nspname, c.relname, a.attname, format_type(a.atttypid, a.atttypmod), t.typname,
       pg_table_size(c.oid)
from pg_class c
join pg_namespace n on n.oid = c.relnamespace
join pg_attribute a on a.attrelid = c.oid and a.attnum > 0 and not a.attisdropped
join pg_type t on t.oid = a.atttypid
where c.relkind in ('r', 'p') and n.nspname || '.' || c.relname = any(%s)
order by n.nspname, c.relname, a.attnum
"""

_PK_SQL = """
select n.nspname, c.relname, array_agg(a.attname order by k.ord)
from pg_index i
join pg_class c on c.oid = i.indrelid
join pg_namespace n on n.oid = c.relnamespace
cross join lateral unnest(i.indkey) with ordinality as k(attnum, ord)
join pg_attribute a on a.attrelid = c.oid and a.attnum = k.attnum
where i.indisprimary and n.nspname || '.' || c.relname = any(%s)
group by n.nspname, c.relname
"""


@dataclass(frozen=True)
class Column:
    name: str
    pg_type: str
    """As ``format_type`` prints it, e.g. ``numeric(19,4)``."""
    duck_type: str
    """As DuckDB's information_schema prints it, e.g. ``DECIMAL(19,4)``."""
    arrow_type: pa.DataType
    select_sql: sql.Composable


@dataclass(frozen=True)
class Stream:
    schema: str
    table: str
    columns: tuple[Column, ...]
    primary_key: tuple[str, ...]
    estimated_bytes: int = 0
    """Size of the table (heap and TOAST) in the source, to schedule the big ones."""
    hashed: tuple[str, ...] = ()
    """Source columns that land only hashed (``ADW_REPLICATION_MAPPINGS``, see :func:`hash_fields`):
    the warehouse must not hold them in clear."""

    @property
    def name(self) -> str:
        return f"{self.schema}.{self.table}"


_INT = {"int2": ("SMALLINT", pa.int16()), "int4": ("INTEGER", pa.int32())}
_INT["int8"] = ("BIGINT", pa.int64())
_FLOAT = {"float4": ("FLOAT", pa.float32()), "float8": ("DOUBLE", pa.float64())}


def map_type(name: str, pg_type: str, typname: str) -> Column:
    """The warehouse column for a PostgreSQL column."""
    ident = sql.Identifier(name)
    plain = ident
    if typname in _INT:
        duck, arrow = _INT[typname]
    elif typname in _FLOAT:
        duck, arrow = _FLOAT[typname]
    elif typname == "numeric":
        m = re.fullmatch(r"numeric\((\d+),(\d+)\)", pg_type.replace(" ", ""))
        if m and int(m.group(1)) <= 38:
            p, s = int(m.group(1)), int(m.group(2))
            duck, arrow = f"DECIMAL({p},{s})", pa.decimal128(p, s)
        else:  # unbounded numeric: no exact fixed-point type fits every value
            duck, arrow = "DOUBLE", pa.float64()
    elif typname == "bool":
        duck, arrow = "BOOLEAN", pa.bool_()
    elif typname == "date":
        duck, arrow = "DATE", pa.date32()
    elif typname == "timestamp":
        duck, arrow = "TIMESTAMP", pa.timestamp("us")
    elif typname == "timestamptz":
        duck, arrow = "TIMESTAMP WITH TIME ZONE", pa.timestamp("us")
        plain = sql.SQL("({} at time zone 'UTC')").format(ident)
    elif typname == "time":
        duck, arrow = "TIME", pa.string()
    elif typname == "bytea":  # base64, as Airbyte writes binary
        duck, arrow = "VARCHAR", pa.string()
        plain = sql.SQL("translate(encode({}, 'base64'), E'\\n', '')").format(ident)
    else:  # varchar, char(n) (padding kept), text, uuid, xml, json, arrays, ...: text
        duck, arrow = "VARCHAR", pa.string()
        if typname not in ("varchar", "bpchar", "text", "uuid", "xml", "json", "jsonb"):
            plain = sql.SQL("cast({} as text)").format(ident)
    return Column(name, pg_type, duck, arrow, plain)


def discover(conn: psycopg.Connection, names: Sequence[str]) -> dict[str, Stream]:
    """The streams named ``schema.table`` that exist in the source, with columns and keys."""
    rows = conn.execute(_CATALOG_SQL, (list(names),)).fetchall()
    pks = {f"{s}.{t}": tuple(cols) for s, t, cols in conn.execute(_PK_SQL, (list(names),))}
    cols: dict[str, list[Column]] = {}
    estimates: dict[str, int] = {}
    for schema, table, column, pg_type, typname, size in rows:
        key = f"{schema}.{table}"
        cols.setdefault(key, []).append(map_type(column, pg_type, typname))
        estimates[key] = int(size)
    out: dict[str, Stream] = {}
    for key, columns in cols.items():
        schema, table = key.split(".", 1)
        out[key] = Stream(schema, table, tuple(columns), pks.get(key, ()), estimates[key])
    return out


def hash_fields(stream: Stream, mappings: Mappings) -> Stream:
    """The stream as Airbyte's hashing mappers land it: each hashed column replaced, at its
    place, by ``<column><suffix>`` (text), computed by PostgreSQL in the COPY's select, so the
    clear value never leaves the source. Raises :class:`~adw_assets.lib.mappings.MappingError`
    when a mapper does not fit the stream's columns."""
    mappers = {h.output_field: h for h in mappings.of(stream.name)}
    if not mappers:
        return stream
    mapped = mappings.columns(stream.name, [(c.name, c.pg_type) for c in stream.columns])
    columns = []
    for (name, _), col in zip(mapped, stream.columns, strict=True):
        h = mappers.get(name) if name != col.name else None
        if h is None:
            columns.append(col)
            continue
        text = sql.SQL("convert_to(cast({} as text), 'UTF8')").format(sql.Identifier(col.name))
        digest = sql.SQL(POSTGRES_DIGESTS[h.method]) if h.method != "MD5" else None
        expr = (
            sql.SQL("md5({})").format(text)
            if digest is None  # md5() gives hex already; the sha*() functions give bytes
            else sql.SQL("encode({}({}), 'hex')").format(digest, text)
        )
        columns.append(Column(name, "text", "VARCHAR", pa.string(), expr))
    hashed = tuple(h.target_field for h in mappers.values())
    return replace(stream, columns=tuple(columns), hashed=hashed)


_WIDENINGS = {
    ("SMALLINT", "INTEGER"),
    ("SMALLINT", "BIGINT"),
    ("INTEGER", "BIGINT"),
    ("FLOAT", "DOUBLE"),
    ("DATE", "TIMESTAMP"),
}


def is_widening(old: str, new: str) -> bool:
    """Whether a warehouse column of type ``old`` can hold every value of ``new`` after an
    ``ALTER COLUMN ... TYPE new`` without losing data (integers, floats, decimals widen)."""
    if (old, new) in _WIDENINGS:
        return True
    m_old = re.fullmatch(r"DECIMAL\((\d+),(\d+)\)", old)
    m_new = re.fullmatch(r"DECIMAL\((\d+),(\d+)\)", new)
    if m_old and m_new:
        p0, s0, p1, s1 = (int(x) for x in (*m_old.groups(), *m_new.groups()))
        return s1 >= s0 and (p1 - s1) >= (p0 - s0)
    if m_new and old in ("SMALLINT", "INTEGER", "BIGINT"):
        p1, s1 = int(m_new.group(1)), int(m_new.group(2))
        digits = {"SMALLINT": 5, "INTEGER": 10, "BIGINT": 19}[old]
        return p1 - s1 >= digits
    return False
