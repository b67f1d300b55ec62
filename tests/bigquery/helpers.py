"""Helpers of the bigquery tests: rows of the source and of the warehouse, normalized alike."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from decimal import Decimal

import psycopg
from psycopg import sql

from adw_assets.lib.warehouse import bigquery as bq


def _norm(value):
    if isinstance(value, Decimal):
        return value.normalize()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.replace(tzinfo=None).isoformat(sep=" ")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, int) and not isinstance(value, bool):
        return Decimal(value).normalize()
    return value


def normalize(rows) -> list[tuple]:
    """Rows comparable across PostgreSQL, DuckDB and BigQuery (decimals by value, ...)."""
    return sorted((tuple(_norm(v) for v in row) for row in rows), key=lambda r: tuple(map(repr, r)))


def source_columns(dsn: str, schema: str, table: str) -> list[str]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "select column_name from information_schema.columns where table_schema = %s and "
            "table_name = %s order by ordinal_position",
            (schema, table),
        ).fetchall()
    return [r[0] for r in rows]


def source_rows(dsn: str, schema: str, table: str, columns: list[str]) -> list[tuple]:
    with psycopg.connect(dsn) as conn:
        cols = sql.SQL(", ").join(sql.Identifier(c) for c in columns)
        query = sql.SQL("select {} from {}").format(cols, sql.Identifier(schema, table))
        return conn.execute(query).fetchall()


def bq_rows(client, dataset: str, table: str, columns: list[str]) -> list[tuple]:
    cols = ", ".join(bq.quote(c) for c in columns)
    return bq.run(client, f"select {cols} from {bq.table_ref(client.project, dataset, table)}")
