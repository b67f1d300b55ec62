"""How dbt resources become Dagster assets: keys, groups (docs/ARCHITECTURE.md, "Asset keys")."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DagsterDbtTranslatorSettings

from adw_assets.lib.source.catalog import SCHEMAS
from adw_assets.settings import get_settings


class AdwDbtTranslator(DagsterDbtTranslator):
    """Models ``[<dbt schema>, <model>]``; the AdventureWorks sources resolve to the replicated
    tables ``[<ADW_RAW_PREFIX><pg schema>, <table>]``; groups are the top folder under models/
    (``staging``, ``intermediate``, ``marts``, ...); dbt tests are asset checks."""

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

    def get_group_name(self, dbt_resource_props: Mapping[str, Any]) -> str | None:
        meta = (dbt_resource_props.get("config") or {}).get("meta") or {}
        if meta.get("dagster", {}).get("group"):
            return meta["dagster"]["group"]  # e.g. the web models: group web_events
        if dbt_resource_props["resource_type"] == "seed":
            return "staging"  # lookups, built into the staging schema
        fqn = dbt_resource_props.get("fqn") or []
        # fqn = [project, <top folder>, ..., name] for models
        return fqn[1] if len(fqn) > 2 else super().get_group_name(dbt_resource_props)
