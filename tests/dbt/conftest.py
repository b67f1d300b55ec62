"""Fixtures for the dbt project tests.

``raw_from_csv`` builds the replicated tables straight from the AdventureWorks CSVs, in the
exact layout of docs/ARCHITECTURE.md (``raw_<schema>.<table>``, source columns with their
DDL types, the four ``_airbyte_*`` columns). It is a fast stand-in for load + replicate, used
by the tests that only exercise dbt; the end-to-end test runs the real chain.
"""

from __future__ import annotations

import re
from pathlib import Path

import duckdb

from adw_assets.lib.source.catalog import TABLES, ddl

_TYPES = (
    (r"^(serial|integer)\b", "INTEGER"),
    (r"^smallint\b", "SMALLINT"),
    (r"^numeric\((\d+),\s*(\d+)\)", r"DECIMAL(\1,\2)"),
    (r"^timestamp\b", "TIMESTAMP"),
    (r"^boolean\b", "BOOLEAN"),
)


def ddl_columns() -> dict[str, list[tuple[str, str]]]:
    """``{"schema.table": [(column, duckdb type), ...]}`` parsed from the source DDL."""
    tables: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for line in ddl().splitlines():
        line = line.strip()
        match = re.match(r"create table (\w+\.\w+) \(", line)
        if match:
            current = tables.setdefault(match.group(1), [])
            continue
        if line.startswith(");"):
            current = None
        column = re.match(
            r"(\w+) ((serial|integer|smallint|numeric|timestamp|boolean|"
            r"varchar|char|uuid|xml)\b.*)",
            line,
        )
        if current is None or column is None:
            continue
        name, rest = column.group(1), column.group(2)
        duck = "VARCHAR"
        for pattern, replacement in _TYPES:
            if re.match(pattern, rest):
                duck = re.sub(pattern + r".*", replacement, rest)
                break
        current.append((name, duck))
    return tables


def build_raw_from_csv(
    csv_dir: Path, duckdb_path: Path, prefix: str = "raw_", sync_id: int = 1
) -> dict[str, int]:
    """Create ``<prefix><schema>.<table>`` for the 12 tables from ``<schema>.<table>.csv``."""
    columns = ddl_columns()
    counts = {}
    with duckdb.connect(str(duckdb_path)) as con:
        for table in TABLES:
            cols = columns[table.qualified]
            schema = f"{prefix}{table.schema}"
            con.execute(f"create schema if not exists {schema}")
            select = ", ".join(f"cast(nullif({c}, '') as {t}) as {c}" for c, t in cols)
            path = csv_dir / f"{table.qualified}.csv"
            con.execute(
                f"create or replace table {schema}.{table.name} as select {select}, "
                "cast(uuid() as varchar) as _airbyte_raw_id, "
                "cast(now() as timestamptz) as _airbyte_extracted_at, "
                f'cast(\'{{"changes": [], "sync_id": {sync_id}}}\' as json) as _airbyte_meta, '
                "cast(0 as bigint) as _airbyte_generation_id "
                f"from read_csv('{path}', all_varchar = true, header = true)"
            )
            counts[table.qualified] = con.execute(
                f"select count(*) from {schema}.{table.name}"
            ).fetchone()[0]
    return counts
