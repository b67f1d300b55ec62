"""Domain ``dashboard``: the snapshot of the marts that the local dashboard reads."""

from __future__ import annotations

import dagster as dg

from adw_assets.defs.dashboard.assets import build_dashboard_snapshot
from adw_assets.defs.dbt.translator import AdwDbtTranslator
from adw_assets.lib.dbt import ensure_manifest
from adw_assets.settings import Settings


def build_defs(settings: Settings) -> dg.Definitions:
    translator = AdwDbtTranslator(settings.raw_prefix)
    return dg.Definitions(assets=[build_dashboard_snapshot(ensure_manifest(settings), translator)])
