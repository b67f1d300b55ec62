"""The replicated tables: one subsettable multi-asset over the 12 streams, whichever backend.

Keys are ``[<ADW_RAW_PREFIX><schema>, <table>]``, each depending on its source table asset
``[<schema>, <table>]``. One run syncs the selected tables together through the
``replicator`` resource (the embedded replicator or Airbyte) into the ``warehouse`` resource
(DuckDB or BigQuery); a table that fails does not stop the others, but fails the run.
"""

from datetime import timedelta

import dagster as dg

from adw_assets.defs.replication.resources import ReplicatorResource, replicated_key
from adw_assets.defs.source.assets import source_asset_key
from adw_assets.defs.source.resources import SourceResource
from adw_assets.defs.warehouse.resources import POOL, WarehouseResource
from adw_assets.lib.dagster_home import FULL_REFRESH_TAG
from adw_assets.lib.replication import raw_table_name
from adw_assets.lib.secrets import redacted_errors
from adw_assets.lib.source.catalog import CURSOR_FIELD, TABLES, SourceTable

GROUP = "replication"

FRESHNESS = dg.FreshnessPolicy.time_window(
    fail_window=timedelta(hours=3), warn_window=timedelta(minutes=90)
)
"""Kestra's hourly ELT keeps the replicas under an hour old; warn after 1.5 h, fail after 3 h."""


class ReplicationConfig(dg.Config):
    """Run config of the replication."""

    full_refresh: bool = False
    """Rebuild the selected tables (new generation) instead of syncing incrementally."""


def replicated_spec(prefix: str, t: SourceTable, kinds: set[str]) -> dg.AssetSpec:
    namespace = prefix + t.schema
    return dg.AssetSpec(
        key=replicated_key(prefix, t.schema, t.name),
        deps=[source_asset_key(t.schema, t.name)],
        group_name=GROUP,
        kinds=kinds,
        description=(
            f"{t.qualified} replicated into {namespace}.{t.name} (Airbyte incremental append + "
            "deduped, Destinations v2 final table; raw history, when kept, in "
            f"airbyte_internal.{raw_table_name(namespace, t.name)})."
        ),
        metadata={"primary_key": ", ".join(t.primary_key), "cursor": CURSOR_FIELD},
        skippable=True,
        freshness_policy=FRESHNESS,
    )


def build_replicated_tables(prefix: str, kinds: set[str]) -> dg.AssetsDefinition:
    """The multi-asset of the 12 replicated tables under the namespace prefix ``prefix``."""
    by_key = {replicated_key(prefix, t.schema, t.name): t for t in TABLES}

    @dg.multi_asset(
        name="replicated_tables",
        specs=[replicated_spec(prefix, t, kinds) for t in TABLES],
        can_subset=True,
        pool=POOL,
        description="Replicate the selected AdventureWorks tables from PostgreSQL into the "
        "warehouse.",
    )
    def replicated_tables(
        context: dg.AssetExecutionContext,
        config: ReplicationConfig,
        source: SourceResource,
        replicator: ReplicatorResource,
        warehouse: WarehouseResource,
    ):
        tables = [t for k, t in by_key.items() if k in context.selected_asset_keys]
        full = config.full_refresh or context.run.tags.get(FULL_REFRESH_TAG) == "true"
        with redacted_errors():  # the step's failure is stored: no password in its text
            yield from replicator.replicate(
                context, tables, full_refresh=full, source=source, warehouse=warehouse
            )

    return replicated_tables
