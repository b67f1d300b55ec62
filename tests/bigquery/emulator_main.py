"""Start bqemulator (run by ``.venv-bq/bin/python``, never imported by the app or pytest).

Two differences of bqemulator 1.4.0 from BigQuery are fixed here, in the emulator's process,
so that the project's SQL stays what real BigQuery runs (docs/production.md lists them):

* ``CAST(x AS NUMERIC)`` (no precision) becomes DuckDB's bare ``DECIMAL``, i.e.
  ``DECIMAL(18, 3)``: values lose digits past the third decimal. BigQuery's NUMERIC is
  ``NUMERIC(38, 9)``; the patch renders a bare DECIMAL as ``DECIMAL(38, 9)``.
* ``CREATE TABLE t (column list) AS (SELECT ...)`` — what dbt-bigquery emits for a model with
  an enforced contract — is rejected when the query is parenthesized (the emulator rewrites
  only the unparenthesized form). The patch lets its rewriter look inside the parentheses.

Usage: ``python emulator_main.py start --rest-port N ...`` (bqemulator's own CLI).
"""

from __future__ import annotations

import sys


def _patch() -> None:
    from bqemulator.sql.rewriter import create_table_schema_ctas as ctas
    from sqlglot import exp
    from sqlglot.dialects.duckdb import DuckDB

    original_first_select = ctas._first_select

    def first_select(body):
        while isinstance(body, exp.Subquery):
            body = body.this
        return original_first_select(body)

    ctas._first_select = first_select

    original_datatype_sql = DuckDB.Generator.datatype_sql

    def datatype_sql(self, expression: exp.DataType) -> str:
        if expression.is_type(exp.DataType.Type.DECIMAL) and not expression.expressions:
            return "DECIMAL(38, 9)"
        return original_datatype_sql(self, expression)

    DuckDB.Generator.datatype_sql = datatype_sql


if __name__ == "__main__":
    _patch()
    from bqemulator.cli import main

    sys.exit(main())
