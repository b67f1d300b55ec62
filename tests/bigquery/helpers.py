"""Helpers of the bigquery tests: rows of the source and of the warehouse, normalized alike."""

from __future__ import annotations

import math
import uuid
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
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


MARTS = {
    # model: columns left out of the comparison (load times differ between the two runs)
    "rpt_sales_by_product_category": (),
    "rpt_customer_acquisition": (),
    "rpt_order_status": (),
    "rpt_sales_by_geography": (),
    "rpt_web_traffic_daily": (),
    "rpt_web_traffic_by_country": (),
    "rpt_web_traffic_order_value_correlation": (),
    "fct_orders": ("_loaded_at",),
    "fct_sales": ("_loaded_at",),
    "fct_web_events": ("ingested_at",),
    "dim_customers": (),
    "dim_products": (),
    "dim_credit_cards": (),
}
"""The business marts, facts and dimensions compared between a DuckDB and a BigQuery build."""


def normalized_rows(rows, columns: list[str]) -> list[tuple]:
    """Rows comparable across DuckDB and BigQuery: decimals to the cent, times without zone,
    sorted on everything but their floats (compared by :func:`rows_match`)."""

    def norm(value):
        if isinstance(value, Decimal):
            return value.quantize(Decimal("0.01"))  # to the cent
        if hasattr(value, "isoformat"):
            return value.replace(tzinfo=None).isoformat() if hasattr(value, "hour") else str(value)
        return value

    def key(row):
        return tuple(repr(round(v, 6)) if isinstance(v, float) else repr(v) for v in row)

    return sorted((tuple(norm(v) for v in r) for r in rows), key=key)


def rows_match(left: list[tuple], right: list[tuple]) -> bool:
    """The same rows, floats within a relative 1e-9: two engines sum a float column in
    different orders, so an average differs in its last bits (and rounding it to a fixed
    number of places can fall on either side of a tie)."""

    def same(a, b):
        if isinstance(a, float) and isinstance(b, float):
            return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
        return a == b

    return len(left) == len(right) and all(
        len(x) == len(y) and all(same(a, b) for a, b in zip(x, y, strict=True))
        for x, y in zip(left, right, strict=True)
    )


def assert_marts_agree(duckdb_path: Path, client, dataset: str = "adw_marts") -> dict[str, int]:
    """Every model of :data:`MARTS` holds the same rows in the DuckDB file (schema ``marts``)
    and in the BigQuery ``dataset``, to the cent; returns the row counts."""
    sizes = {}
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        for model, skip in MARTS.items():
            cols = [
                r[0]
                for r in con.execute(
                    "select column_name from information_schema.columns where table_schema = "
                    "'marts' and table_name = ? order by ordinal_position",
                    [model],
                ).fetchall()
                if r[0] not in skip
            ]
            quoted = ", ".join(f'"{c}"' for c in cols)
            local = con.execute(f"select {quoted} from marts.{model}").fetchall()
            remote = bq.run(
                client,
                f"select {', '.join(bq.quote(c) for c in cols)} from "
                f"{bq.table_ref(client.project, dataset, model)}",
            )
            remote, local = normalized_rows(remote, cols), normalized_rows(local, cols)
            assert rows_match(remote, local) or remote == local, model  # else pytest's diff
            sizes[model] = len(local)
    return sizes
