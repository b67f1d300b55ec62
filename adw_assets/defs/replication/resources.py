"""The replication resource: the source, the DuckDB warehouse and the engine's tuning.

Defaults come from ``adw_assets.settings`` (``ADW_*``); the DSN is resolved at run time (the
embedded source is started when needed) and never appears in run config.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import dagster as dg
import duckdb

from adw_assets.lib import warehouse
from adw_assets.lib.replication import Progress, ReplicationResult, replicate_from_settings
from adw_assets.settings import get_settings

RESOURCE_KEY = "replication"


class ReplicationResource(dg.ConfigurableResource):
    """Runs the embedded replicator and opens the warehouse for the replication checks."""

    lag_seconds: int | None = None
    """Re-read window before the saved cursor; default ``ADW_REPLICATION_LAG_SECONDS``."""
    batch_rows: int | None = None
    """Rows per batch; default ``ADW_REPLICATION_BATCH_ROWS``."""
    retries: int | None = None
    """Retries when the source is unreachable; default ``ADW_REPLICATION_RETRIES``."""
    workers: int | None = None
    """Streams replicated at the same time; default ``ADW_REPLICATION_WORKERS`` or 2."""

    @property
    def duckdb_path(self) -> Path:
        return get_settings().duckdb_path

    @property
    def raw_prefix(self) -> str:
        return get_settings().raw_prefix

    def source_dsn(self) -> str:
        """DSN of the read-only replication role (starts the embedded source if needed)."""
        from adw_assets.lib.source.server import replication_dsn

        return replication_dsn(get_settings())

    def run(
        self,
        streams: Sequence[str] | None = None,
        full_refresh: bool | Sequence[str] = False,
        progress: Progress | None = None,
    ) -> ReplicationResult:
        return replicate_from_settings(
            get_settings(),
            streams=streams,
            full_refresh=full_refresh,
            progress=progress,
            lag_seconds=self.lag_seconds,
            batch_rows=self.batch_rows,
            retries=self.retries,
            workers=self.workers,
        )

    @contextmanager
    def warehouse(self, read_only: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
        """A connection to the DuckDB warehouse (waits while another process writes)."""
        path = self.duckdb_path
        if read_only and not path.exists():
            raise FileNotFoundError(f"the warehouse {path} does not exist yet")
        with warehouse.connection(path, read_only=read_only) as con:
            yield con
