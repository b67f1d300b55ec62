"""Domain ``dbt``: the dbt project (``dbt/``) as assets; tests as asset checks. Its models are
in the groups their dbt folders set (``core``, ``web_events``)."""

from __future__ import annotations

import dagster as dg

from adw_assets.defs.dbt.assets import build_dbt_models
from adw_assets.defs.dbt.resources import RESOURCE_KEY, dbt_resource
from adw_assets.defs.dbt.translator import AdwDbtTranslator
from adw_assets.lib.dbt import ensure_manifest
from adw_assets.settings import Settings


def build_defs(settings: Settings) -> dg.Definitions:
    # DbtProject.prepare_if_dev() only acts under `dagster dev`: parse whenever the manifest
    # is missing or stale (tests, adw, CI, `dagster definitions validate`)
    manifest = ensure_manifest(settings)
    translator = AdwDbtTranslator(settings.raw_prefix)
    return dg.Definitions(
        assets=[build_dbt_models(manifest, translator)],
        resources={RESOURCE_KEY: dbt_resource(settings)},
    )
