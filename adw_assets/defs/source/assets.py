"""The AdventureWorks tables in PostgreSQL, as external assets: lineage starts here."""

from __future__ import annotations

import dagster as dg

from adw_assets.lib.source.catalog import TABLES


def source_asset_key(schema: str, table: str) -> dg.AssetKey:
    """Key of a source table: ``[schema, table]`` as in PostgreSQL."""
    return dg.AssetKey([schema, table])


source_tables = [
    dg.AssetSpec(
        key=source_asset_key(t.schema, t.name),
        group_name="source",
        kinds={"postgres"},
        description=f"AdventureWorks OLTP table {t.qualified} in the source PostgreSQL.",
        metadata={"primary_key": ", ".join(t.primary_key), "cursor": "modifieddate"},
    )
    for t in TABLES
]
