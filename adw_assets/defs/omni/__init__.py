"""Domain ``omni``: the Omni documents (dashboards, workbooks) of ``ADW_OMNI_URL`` as assets
downstream of the dbt models their queries read (docs/omni.md). Without ``ADW_OMNI_URL`` and
``ADW_OMNI_API_KEY`` it is empty and nothing calls Omni."""

from __future__ import annotations

import dagster as dg

from adw_assets.defs.dbt.translator import AdwDbtTranslator
from adw_assets.defs.omni.assets import dbt_table_keys, omni_component
from adw_assets.errors import ConfigError
from adw_assets.lib.dbt import ensure_manifest
from adw_assets.settings import Settings


def build_defs(settings: Settings) -> dg.Definitions:
    url, key = settings.omni_url, settings.omni_api_key
    if url is None and key is None:
        return dg.Definitions()
    if url is None or key is None:
        missing = "ADW_OMNI_API_KEY" if url else "ADW_OMNI_URL"
        raise ConfigError(
            f"{missing} is not set while {'ADW_OMNI_URL' if url else 'ADW_OMNI_API_KEY'} is: "
            "set both to show Omni's documents in the graph, or neither."
        )
    translator = AdwDbtTranslator(settings.raw_prefix)
    keys = dbt_table_keys(ensure_manifest(settings), translator.get_asset_key)
    component = omni_component(url, key.get_secret_value(), settings.omni_retries, keys)
    return dg.build_defs_for_component(component)
