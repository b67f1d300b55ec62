"""The embedded replicator (pure Python, no Dagster).

``replicate(source_dsn, destination, ...)`` copies the AdventureWorks streams from PostgreSQL
into a destination (:class:`DuckDBDestination`, :class:`BigQueryDestination`) with Airbyte's
"incremental | append + deduped" semantics and Destinations v2 layout; see
docs/replication.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adw_assets.lib.mappings import load as load_mappings
from adw_assets.lib.replication.bigquery_destination import BigQueryDestination
from adw_assets.lib.replication.destination import (
    Destination,
    DestinationRun,
    LoadPlan,
    StreamLoad,
)
from adw_assets.lib.replication.duckdb_destination import DuckDBDestination
from adw_assets.lib.replication.engine import Progress, replicate
from adw_assets.lib.replication.layout import SchemaChangeError, raw_table_name
from adw_assets.lib.replication.plan import resolve_streams
from adw_assets.lib.replication.result import (
    ProgressEvent,
    ReplicationResult,
    StreamResult,
    stderr_progress,
)
from adw_assets.settings import Settings

__all__ = [
    "BigQueryDestination",
    "Destination",
    "DestinationRun",
    "DuckDBDestination",
    "LoadPlan",
    "Progress",
    "ProgressEvent",
    "ReplicationResult",
    "SchemaChangeError",
    "StreamLoad",
    "StreamResult",
    "destination_from_settings",
    "raw_table_name",
    "replicate",
    "replicate_from_settings",
    "resolve_streams",
    "stderr_progress",
]


def destination_from_settings(settings: Settings) -> Destination:
    """The warehouse of the settings: BigQuery (``ADW_WAREHOUSE=bigquery``, client from the
    ``ADW_BQ_*`` settings) or the DuckDB file (``ADW_DUCKDB_PATH``, with
    ``ADW_REPLICATION_MEMORY_LIMIT``)."""
    if settings.warehouse == "bigquery":
        from adw_assets.lib.warehouse import bigquery as bq

        config = bq.bigquery_config(settings)
        return BigQueryDestination(bq.make_client(config), location=config.location)
    return DuckDBDestination(settings.duckdb_path, memory_limit=settings.replication_memory_limit)


def replicate_from_settings(
    settings: Settings,
    streams: Sequence[str] | None = None,
    full_refresh: bool | Sequence[str] = False,
    progress: Progress | None = None,
    *,
    destination: Destination | None = None,
    **overrides: Any,
) -> ReplicationResult:
    """:func:`replicate` with the source, the destination (default
    :func:`destination_from_settings`) and the tuning from ``ADW_*`` settings (``overrides``
    replace single keyword arguments of :func:`replicate`, e.g. ``retries=0``; ``None`` keeps
    the setting)."""
    from adw_assets.lib.source.server import cdc_dsn, replication_dsn

    cdc = settings.replication_method == "cdc"
    kwargs: dict[str, Any] = {
        "prefix": settings.raw_prefix,
        "lag_seconds": settings.replication_lag_seconds,
        "batch_rows": settings.replication_batch_rows,
        "retries": settings.replication_retries,
        "workers": settings.replication_workers,
        "raw_history": settings.replication_raw_history,
        "mappings": load_mappings(settings.replication_mappings),
        "method": settings.replication_method,
        "range_readers": settings.replication_range_readers,
        "range_min_bytes": settings.replication_range_min_mb << 20,
    }
    kwargs.update({k: v for k, v in overrides.items() if v is not None})
    return replicate(
        cdc_dsn(settings) if cdc else replication_dsn(settings),
        destination or destination_from_settings(settings),
        streams=streams,
        full_refresh=full_refresh,
        progress=progress,
        **kwargs,
    )
