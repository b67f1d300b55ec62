"""Reconcile a replicated table with its source: row counts and a checksum over all columns.

The checksum renders each row as text the same way in PostgreSQL and DuckDB (columns cast to
text, NULL as ``\\N``, joined by a unit separator), hashes each row with md5, and hashes the
sorted row hashes: equal checksums mean equal multisets of rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import psycopg
from psycopg import sql

from adw_assets.lib.warehouse import qualified, quote


@dataclass(frozen=True)
class Fingerprint:
    rows: int
    checksum: str | None


def _pg_text(column: str, pg_type: str) -> sql.Composable:
    ident = sql.Identifier(column)
    if pg_type.startswith("timestamp") and "with time zone" in pg_type:
        expr = sql.SQL("cast(({} at time zone 'UTC') as text)").format(ident)
    elif pg_type == "bytea":
        expr = sql.SQL("translate(encode({}, 'base64'), E'\\n', '')").format(ident)
    elif pg_type.startswith("character(") or pg_type == "character":
        # a cast to text drops the padding; format() keeps it (but turns NULL into '')
        expr = sql.SQL("case when {} is not null then format('%s', {}) end").format(ident, ident)
    else:
        expr = sql.SQL("cast({} as text)").format(ident)
    return sql.SQL("coalesce({}, {})").format(expr, sql.Literal("\\N"))


def source_fingerprint(
    conn: psycopg.Connection, schema: str, table: str, columns: list[tuple[str, str]]
) -> Fingerprint:
    """Fingerprint of the source table over ``columns`` (name, ``format_type`` type)."""
    row_text = sql.SQL(" || chr(31) || ").join([_pg_text(c, t) for c, t in columns])
    query = sql.SQL(
        "select count(*), md5(string_agg(h, '' order by h)) from (select md5({}) as h from {}) as t"
    ).format(row_text, sql.Identifier(schema, table))
    count, checksum = conn.execute(query).fetchone()
    return Fingerprint(int(count), checksum)


def warehouse_fingerprint(
    con: duckdb.DuckDBPyConnection, namespace: str, table: str, columns: list[str]
) -> Fingerprint:
    """Fingerprint of the final table over the source ``columns``."""
    parts = [f"coalesce(cast({quote(c)} as varchar), '\\N')" for c in columns]
    row_text = " || chr(31) || ".join(parts)
    count, checksum = con.execute(
        f"select count(*), md5(string_agg(h, '' order by h)) from "
        f"(select md5({row_text}) as h from {qualified(namespace, table)})"
    ).fetchall()[0]
    return Fingerprint(int(count), checksum)


def source_columns(conn: psycopg.Connection, schema: str, table: str) -> list[tuple[str, str]]:
    """(name, type) of the source table's columns, in order."""
    return conn.execute(
        "select a.attname, format_type(a.atttypid, a.atttypmod) from pg_attribute a "
        "where a.attrelid = cast(%s as regclass) and a.attnum > 0 and not a.attisdropped "
        "order by a.attnum",
        (sql.Identifier(schema, table).as_string(conn),),
    ).fetchall()


def compare_table(
    conn: psycopg.Connection, con: duckdb.DuckDBPyConnection, schema: str, table: str, prefix: str
) -> tuple[Fingerprint, Fingerprint]:
    """(source, warehouse) fingerprints of one stream over the source's current columns."""
    cols = source_columns(conn, schema, table)
    src = source_fingerprint(conn, schema, table, cols)
    dst = warehouse_fingerprint(con, prefix + schema, table, [c for c, _ in cols])
    return src, dst
