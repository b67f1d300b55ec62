"""The embedded replicator (pure Python + DuckDB, no Dagster).

``replicate(source_dsn, duckdb_path, ...)`` copies the AdventureWorks streams from PostgreSQL
into DuckDB with Airbyte's "incremental | append + deduped" semantics and Destinations v2
layout; see docs/replication.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adw_assets.lib.replication.engine import Progress, replicate, resolve_streams
from adw_assets.lib.replication.result import (
    ProgressEvent,
    ReplicationResult,
    StreamResult,
    stderr_progress,
)
from adw_assets.lib.replication.writer import SchemaChangeError, raw_table_name
from adw_assets.settings import Settings

__all__ = [
    "Progress",
    "ProgressEvent",
    "ReplicationResult",
    "SchemaChangeError",
    "StreamResult",
    "raw_table_name",
    "replicate",
    "replicate_from_settings",
    "resolve_streams",
    "stderr_progress",
]


def replicate_from_settings(
    settings: Settings,
    streams: Sequence[str] | None = None,
    full_refresh: bool | Sequence[str] = False,
    progress: Progress | None = None,
    **overrides: Any,
) -> ReplicationResult:
    """:func:`replicate` with the source, warehouse and tuning from ``ADW_*`` settings
    (``overrides`` replace single keyword arguments, e.g. ``retries=0``)."""
    from adw_assets.lib.source.server import replication_dsn

    workers = settings.get("ADW_REPLICATION_WORKERS") or "2"
    kwargs: dict[str, Any] = {
        "prefix": settings.raw_prefix,
        "lag_seconds": settings.replication_lag_seconds,
        "batch_rows": settings.replication_batch_rows,
        "retries": settings.replication_retries,
        "workers": max(1, int(workers)) if workers.isdigit() else 2,
        "memory_limit": settings.get("ADW_REPLICATION_MEMORY_LIMIT") or "128MB",
        "raw_history": settings.replication_raw_history,
    }
    kwargs.update({k: v for k, v in overrides.items() if v is not None})
    if settings.warehouse == "bigquery":  # issue 7 hook: the same replicator, into BigQuery
        from adw_assets.lib.replication.bigquery_engine import replicate_bigquery_from_settings

        dsn = replication_dsn(settings)
        return replicate_bigquery_from_settings(
            dsn, settings, streams, full_refresh, progress, **kwargs
        )
    return replicate(
        replication_dsn(settings),
        settings.duckdb_path,
        streams=streams,
        full_refresh=full_refresh,
        progress=progress,
        **kwargs,
    )
