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
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow.parquet as pq

from adw_assets.lib import warehouse as duck
from adw_assets.lib.warehouse import bigquery as bq

if TYPE_CHECKING:
    from google.cloud import bigquery


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
