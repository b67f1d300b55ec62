"""The AdventureWorks tables in PostgreSQL, as external assets: lineage starts here."""

from __future__ import annotations

import dagster as dg

from adw_assets.lib.source.catalog import CURSOR_FIELD, TABLES


def source_asset_key(schema: str, table: str) -> dg.AssetKey:
    """Key of a source table: ``[schema, table]`` as in PostgreSQL."""
    return dg.AssetKey([schema, table])


def source_tables() -> list[dg.AssetSpec]:
    return [
        dg.AssetSpec(
            key=source_asset_key(t.schema, t.name),
            group_name="source",
            kinds={"postgres"},
            description=f"AdventureWorks OLTP table {t.qualified} in the source PostgreSQL.",
            metadata={"primary_key": ", ".join(t.primary_key), "cursor": CURSOR_FIELD},
        )
        for t in TABLES
    ]
