"""Who replicates: the embedded replicator (default) or Airbyte (``ADW_REPLICATION=airbyte``).

The replicated tables are one multi-asset (``assets.py``) whichever backend runs; it hands the
selected tables to the ``replicator`` resource, which syncs them and says what it wrote.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import dagster as dg

from adw_assets.defs.source.resources import SourceResource
from adw_assets.defs.warehouse.resources import WarehouseResource
from adw_assets.errors import ConfigError, SourceError
from adw_assets.lib.mappings import load as load_mappings
from adw_assets.lib.replication import ProgressEvent, StreamResult, replicate
from adw_assets.lib.secrets import redact
from adw_assets.lib.source.catalog import SourceTable
from adw_assets.lib.source.server import cdc_dsn
from adw_assets.settings import Settings, get_settings

RESOURCE_KEY = "replicator"

progress_log = logging.getLogger("adw.replication")
"""One line per stream done/failed/retried; ``adw replicate`` prints it on stderr."""

Materializations = Iterator[dg.MaterializeResult | dg.AssetMaterialization]


def replicated_key(prefix: str, schema: str, table: str) -> dg.AssetKey:
    """Key of a replicated table: ``[<ADW_RAW_PREFIX><schema>, <table>]``, as Airbyte names it."""
    return dg.AssetKey([f"{prefix}{schema}", table])


class ReplicatorResource(dg.ConfigurableResource, ABC):
    """Syncs source tables into the warehouse, Airbyte's "incremental | append + deduped"."""

    @property
    @abstractmethod
    def kinds(self) -> set[str]:
        """Kind tags the replicated tables carry besides the warehouse's."""

    @abstractmethod
    def replicate(
        self,
        context: dg.AssetExecutionContext,
        tables: Sequence[SourceTable],
        *,
        full_refresh: bool,
        source: SourceResource,
        warehouse: WarehouseResource,
    ) -> Materializations:
        """Sync ``tables``; yield a materialization of each table written, raise
        ``dg.Failure`` naming the tables that failed."""


class EmbeddedReplicator(ReplicatorResource):
    """adw's own replicator (``adw_assets.lib.replication``). Unset fields take the
    ``ADW_REPLICATION_*`` settings."""

    lag_seconds: int | None = None
    """Re-read window before the saved cursor (``ADW_REPLICATION_LAG_SECONDS``)."""
    batch_rows: int | None = None
    """Rows per batch (``ADW_REPLICATION_BATCH_ROWS``)."""
    retries: int | None = None
    """Retries while the source is unreachable (``ADW_REPLICATION_RETRIES``)."""
    workers: int | None = None
    """Streams replicated at the same time (``ADW_REPLICATION_WORKERS``)."""

    @property
    def kinds(self) -> set[str]:
        return set()

    def replicate(self, context, tables, *, full_refresh, source, warehouse) -> Materializations:
        s = get_settings()

        def progress(event: ProgressEvent) -> None:
            # runs on the engine's worker threads: the Python logger is cheap; each
            # context.log line is a write to the Dagster event log, so only problems go there
            line = redact(event.format())
            if event.phase in ("done", "failed", "retry"):
                progress_log.info(line)
            if event.phase in ("failed", "retry"):
                context.log.warning(line)

        with (
            # a bad setting, or a source the engine already retried (ADW_REPLICATION_RETRIES)
            _no_retry_on(ConfigError, SourceError),
            warehouse.destination(s.replication_memory_limit) as destination,
        ):
            result = replicate(
                cdc_dsn(s) if s.replication_method == "cdc" else source.replication_dsn(),
                destination,
                prefix=s.raw_prefix,
                streams=[t.qualified for t in tables],
                full_refresh=full_refresh,
                lag_seconds=_given(self.lag_seconds, s.replication_lag_seconds),
                batch_rows=_given(self.batch_rows, s.replication_batch_rows),
                retries=_given(self.retries, s.replication_retries),
                workers=_given(self.workers, s.replication_workers),
                raw_history=s.replication_raw_history,
                mappings=load_mappings(s.replication_mappings),
                method=s.replication_method,
                range_readers=s.replication_range_readers,
                range_min_bytes=s.replication_range_min_mb << 20,
                progress=progress,
            )
        context.log.info(
            f"replicated {len(result.streams) - len(result.failed)} of {len(result.streams)} "
            f"stream(s), {result.rows_read:,} rows read in {result.seconds:.1f} s (sync "
            f"{result.sync_id})"
        )
        for stream in result.streams:
            if stream.ok:
                yield _materialization(s.raw_prefix, stream, result.seconds)
        if result.failed:  # the engine retried what a retry can fix: the step fails now
            raise dg.Failure(
                description=redact("\n".join(f.error or f.stream for f in result.failed)),
                metadata={"failed_streams": ", ".join(f.stream for f in result.failed)},
                allow_retries=False,
            )


@contextmanager
def _no_retry_on(*errors: type[Exception]) -> Iterator[None]:
    """Fail the step at once, with the error's own message, on ``errors``."""
    try:
        yield
    except errors as exc:
        raise dg.Failure(description=str(exc), allow_retries=False) from None


def _given(value: int | None, default: int) -> int:
    return default if value is None else value


def _materialization(prefix: str, s: StreamResult, run_seconds: float) -> dg.MaterializeResult:
    metadata = {
        "rows_read": dg.MetadataValue.int(s.rows_read),
        "rows_inserted": dg.MetadataValue.int(s.rows_inserted),
        "rows_updated": dg.MetadataValue.int(s.rows_updated),
        "cursor": dg.MetadataValue.text(s.cursor.isoformat(sep=" ") if s.cursor else ""),
        "generation": dg.MetadataValue.int(s.generation or 0),
        "sync_id": dg.MetadataValue.int(s.sync_id or 0),
        "full_refresh": dg.MetadataValue.bool(s.full_refresh),
        "duration_seconds": dg.MetadataValue.float(round(s.seconds, 3)),
        "replication_run_seconds": dg.MetadataValue.float(round(run_seconds, 3)),
    }
    if s.schema_changes:
        metadata["schema_changes"] = dg.MetadataValue.text("; ".join(s.schema_changes))
    schema, table = s.stream.split(".", 1)
    return dg.MaterializeResult(asset_key=replicated_key(prefix, schema, table), metadata=metadata)


def replicator_resource(settings: Settings | None = None) -> ReplicatorResource:
    """The replicator of these settings (``ADW_REPLICATION``)."""
    settings = settings or get_settings()
    if settings.replication == "airbyte":
        from adw_assets.defs.replication.airbyte import airbyte_replicator

        return airbyte_replicator(settings)
    return EmbeddedReplicator()
