"""How dbt resources become Dagster assets: keys (docs/ARCHITECTURE.md, "Asset keys").

Groups are dagster-dbt's default: the dbt group of the node, set per folder in
dbt/dbt_project.yml (``core``, ``web_events``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

from adw_assets.lib.source.catalog import SCHEMAS
from adw_assets.settings import get_settings


class AdwDbtTranslator(DagsterDbtTranslator):
    """Models ``[<dbt schema>, <model>]``; the AdventureWorks sources resolve to the replicated
    tables ``[<ADW_RAW_PREFIX><pg schema>, <table>]``; dbt tests are asset checks."""

    def __init__(self, raw_prefix: str | None = None) -> None:
        super().__init__(DagsterDbtTranslatorSettings(enable_asset_checks=True))
        self.raw_prefix = raw_prefix if raw_prefix is not None else get_settings().raw_prefix

    def get_asset_key(self, dbt_resource_props: Mapping[str, Any]) -> dg.AssetKey:
        meta = (dbt_resource_props.get("config") or {}).get("meta") or {}
        if meta.get("dagster", {}).get("asset_key"):
            return super().get_asset_key(dbt_resource_props)
        if dbt_resource_props["resource_type"] == "source":
            if dbt_resource_props["source_name"] in SCHEMAS:
                schema = f"{self.raw_prefix}{dbt_resource_props['source_name']}"
                return dg.AssetKey([schema, dbt_resource_props["name"]])
            return super().get_asset_key(dbt_resource_props)
        schema = dbt_resource_props["config"].get("schema") or dbt_resource_props["schema"]
        return dg.AssetKey([schema, dbt_resource_props["name"]])
