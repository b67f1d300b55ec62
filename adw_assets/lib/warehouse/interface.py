"""The warehouse as the checks, the web-event sensor and the dashboard snapshot see it: one
interface, a DuckDB file or a BigQuery project behind it.

A :class:`Warehouse` is one open connection. It answers the few questions those readers ask
(does a table exist, a query's rows, a table's metadata) and exports a table to Parquet, in the
warehouse's own SQL dialect and quoting, so that every reader is written once. The replicator
writes through its own destinations (``adw_assets.lib.replication``); dbt through its profile.
"""

from __future__ import annotations

import os
import uuid
from abc import ABC, abstractmethod
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow.parquet as pq

from adw_assets.lib import warehouse as duck
from adw_assets.lib.warehouse import bigquery as bq

if TYPE_CHECKING:
    from google.cloud import bigquery


Relation = tuple[str, str]
"""``(schema or dataset, table or view)``."""


@dataclass(frozen=True)
class Shape:
    """What a built table or view holds: its columns (name, type) in order, its row count
    (``None`` when not counted: views)."""

    columns: list[tuple[str, str]]
    rows: int | None = None


class Warehouse(ABC):
    """One open connection to the warehouse."""

    name: str
    """For messages: ``DuckDB`` or ``BigQuery``."""

    @abstractmethod
    def exists(self, dataset: str, table: str) -> bool: ...

    @abstractmethod
    def rows(self, sql: str) -> list[tuple]:
        """The rows of a query (SQL that adw wrote, in this warehouse's dialect)."""

    @abstractmethod
    def table(self, dataset: str, table: str) -> str:
        """The quoted reference to a table, for SQL."""

    @abstractmethod
    def quote(self, identifier: str) -> str: ...

    def table_metadata(self, dataset: str, table: str) -> dict[str, Any]:
        """What the warehouse says about a table without reading it (BigQuery: its last
        modification); nothing more on DuckDB."""
        return {}

    @abstractmethod
    def columns(self, relations: Collection[Relation]) -> dict[Relation, list[tuple[str, str]]]:
        """The columns (name, type) of ``relations``, in order; one that does not exist is
        left out."""

    def shapes(
        self, relations: Collection[Relation], counted: Collection[Relation]
    ) -> dict[Relation, Shape]:
        """The columns of ``relations`` and the row counts of those in ``counted``, in one go
        (the metadata of a whole dbt build): the columns, then one query counting every
        table (``count(*)`` reads no data on either warehouse)."""
        columns = self.columns(sorted(set(relations) | set(counted)))
        present = [r for r in sorted(set(counted)) if r in columns]
        rows = {}
        if present:
            sql = " union all ".join(
                f"select {n} as n, count(*) as c from {self.table(*r)}"
                for n, r in enumerate(present)
            )
            rows = {present[n]: count for n, count in self.rows(sql)}
        return {r: Shape(cols, rows.get(r)) for r, cols in columns.items()}

    @abstractmethod
    def export_parquet(self, dataset: str, table: str, path: Path) -> tuple[int, list[str]]:
        """Write the table to ``path`` as Parquet, atomically (temp file, then rename);
        return its row count and column names."""

    @abstractmethod
    def close(self) -> None:
        """Release the connection."""

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _temp_beside(path: Path) -> Path:
    return path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")


class DuckDBWarehouse(Warehouse):
    """The DuckDB file, opened read-only (waiting while another process writes it)."""

    name = "DuckDB"

    def __init__(self, path: Path | str, *, timeout: float = duck.DEFAULT_LOCK_TIMEOUT) -> None:
        self.path = Path(path)
        self.con = duck.connect_to_read(self.path, timeout=timeout)

    def exists(self, dataset: str, table: str) -> bool:
        return duck.table_exists(self.con, dataset, table)

    def rows(self, sql: str) -> list[tuple]:
        return self.con.execute(sql).fetchall()

    def table(self, dataset: str, table: str) -> str:
        return duck.qualified(dataset, table)

    def quote(self, identifier: str) -> str:
        return duck.quote(identifier)

    def columns(self, relations: Collection[Relation]) -> dict[Relation, list[tuple[str, str]]]:
        found: dict[Relation, list[tuple[str, str]]] = {}
        for schema, table, column, data_type in self.con.execute(
            "select table_schema, table_name, column_name, data_type "
            "from information_schema.columns "
            "where table_catalog = current_database() and [table_schema, table_name] in ? "
            "order by table_schema, table_name, ordinal_position",
            [[list(r) for r in relations]],
        ).fetchall():
            found.setdefault((schema, table), []).append((column, data_type))
        return found

    def export_parquet(self, dataset: str, table: str, path: Path) -> tuple[int, list[str]]:
        tmp = _temp_beside(path)
        relation = self.table(dataset, table)
        try:
            # one statement: the copy and the count read the same version of the table
            self.con.execute(f"copy (select * from {relation}) to ? (format parquet)", [str(tmp)])
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        meta = pq.read_metadata(path)
        return meta.num_rows, meta.schema.to_arrow_schema().names

    def close(self) -> None:
        self.con.close()


class BigQueryWarehouse(Warehouse):
    """A BigQuery project through a ``google.cloud.bigquery.Client``."""

    name = "BigQuery"

    def __init__(self, client: bigquery.Client) -> None:
        self.client = client

    def exists(self, dataset: str, table: str) -> bool:
        return bq.table_exists(self.client, dataset, table)

    def rows(self, sql: str) -> list[tuple]:
        return bq.run(self.client, sql)

    def table(self, dataset: str, table: str) -> str:
        return bq.table_ref(self.client.project, dataset, table)

    def quote(self, identifier: str) -> str:
        return bq.quote(identifier)

    def columns(self, relations: Collection[Relation]) -> dict[Relation, list[tuple[str, str]]]:
        from google.api_core.exceptions import NotFound

        found = {}
        for relation in relations:  # the tables' metadata: free, no query billed
            try:
                t = self.client.get_table(bq.table_id(self.client.project, *relation))
            except NotFound:
                continue
            found[relation] = [(f.name, f.field_type) for f in t.schema]
        return found

    def table_metadata(self, dataset: str, table: str) -> dict[str, Any]:
        facts = bq.table_facts(self.client, dataset, table)
        if facts is None or facts.modified is None:
            return {}
        age = (datetime.now(UTC) - facts.modified).total_seconds() / 60
        return {"last_modified": facts.modified, "minutes_since_modified": round(age, 1)}

    def export_parquet(self, dataset: str, table: str, path: Path) -> tuple[int, list[str]]:
        # tabledata.list: reading a table's rows this way is free (no query is billed)
        ref = bq.table_id(self.client.project, dataset, table)
        data = self.client.list_rows(self.client.get_table(ref)).to_arrow(
            create_bqstorage_client=False
        )
        tmp = _temp_beside(path)
        try:
            pq.write_table(data, tmp)
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return data.num_rows, data.column_names

    def close(self) -> None:
        self.client.close()
