"""The replicated tables as Dagster assets: one subsettable multi-asset over the 12 streams.

Keys are ``[<ADW_RAW_PREFIX><schema>, <table>]``, each depending on its source table asset
``[<schema>, <table>]``. One run replicates the selected streams together (the engine runs
them on parallel workers); a stream that fails does not stop the others, but fails the run.
"""

import logging
from collections.abc import Iterator
from datetime import timedelta

import dagster as dg

from adw_assets.defs.replication.resources import ReplicationResource
from adw_assets.defs.source.assets import source_asset_key
from adw_assets.lib.dagster_home import FULL_REFRESH_TAG
from adw_assets.lib.replication import ProgressEvent, StreamResult, raw_table_name
from adw_assets.lib.source.catalog import TABLES, SourceTable
from adw_assets.settings import get_settings

GROUP = "replication"

FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=3), warn_window=timedelta(minutes=90)
)
"""Kestra's hourly ELT keeps the replicas under an hour old; warn after 1.5 h, fail after 3 h."""

progress_log = logging.getLogger("adw.replication")
"""One line per stream done/failed/retried; ``adw replicate`` prints it on stderr."""


_WAREHOUSE_NAMES = {"duckdb": "DuckDB", "bigquery": "BigQuery"}


def replicated_key(prefix: str, schema: str, table: str) -> dg.AssetKey:
    return dg.AssetKey([f"{prefix}{schema}", table])


def replicated_spec(prefix: str, t: SourceTable) -> dg.AssetSpec:
    return dg.AssetSpec(
        key=replicated_key(prefix, t.schema, t.name),
        deps=[source_asset_key(t.schema, t.name)],
        group_name=GROUP,
        kinds={get_settings().warehouse},  # duckdb or bigquery (issue 7)
        description=(
            f"{t.qualified} replicated into {_WAREHOUSE_NAMES[get_settings().warehouse]} "
            "(Airbyte incremental append + deduped, Destinations v2 final table; raw history "
            "in airbyte_internal."
            f"{raw_table_name(prefix + t.schema, t.name)})."
        ),
        metadata={"primary_key": ", ".join(t.primary_key), "cursor": "modifieddate"},
        skippable=True,
        freshness_policy=FRESHNESS,
    )


class ReplicationConfig(dg.Config):
    """Run config of the embedded replication."""

    full_refresh: bool = False
    """Rebuild the selected streams (new generation) instead of syncing incrementally."""


def materialization(prefix: str, s: StreamResult, run_seconds: float) -> dg.MaterializeResult:
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


def build_replication_assets(prefix: str) -> dg.AssetsDefinition:
    """The multi-asset of the embedded backend for the given namespace prefix."""
    by_key = {replicated_key(prefix, t.schema, t.name): t.qualified for t in TABLES}

    @dg.multi_asset(
        name="embedded_replication",
        specs=[replicated_spec(prefix, t) for t in TABLES],
        can_subset=True,
        description="Replicate the selected AdventureWorks tables from PostgreSQL into DuckDB.",
    )
    def embedded_replication(
        context: dg.AssetExecutionContext,
        config: ReplicationConfig,
        replication: ReplicationResource,
    ) -> Iterator[dg.MaterializeResult]:
        streams = [by_key[k] for k in by_key if k in context.selected_asset_keys]
        full = config.full_refresh or context.run.tags.get(FULL_REFRESH_TAG) == "true"

        def progress(event: ProgressEvent) -> None:
            # runs on the engine's worker threads: the Python logger is cheap; each
            # context.log line is a write to the Dagster event log, so only problems go there
            if event.phase in ("done", "failed", "retry"):
                progress_log.info(event.format())
            if event.phase in ("failed", "retry"):
                context.log.warning(event.format())

        result = replication.run(streams=streams, full_refresh=full, progress=progress)
        context.log.info(
            f"replicated {len(result.streams) - len(result.failed)} of {len(result.streams)} "
            f"stream(s), {result.rows_read:,} rows read in {result.seconds:.1f} s (sync "
            f"{result.sync_id})"
        )
        for s in result.streams:
            if s.ok:
                yield materialization(prefix, s, result.seconds)
        if result.failed:
            raise dg.Failure(
                description="\n".join(s.error or s.stream for s in result.failed),
                metadata={"failed_streams": ", ".join(s.stream for s in result.failed)},
            )

    return embedded_replication
