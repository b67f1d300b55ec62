"""Domain ``source``: the AdventureWorks tables in PostgreSQL."""

from __future__ import annotations

import dagster as dg

from adw_assets.defs.source.assets import source_tables
from adw_assets.defs.source.resources import RESOURCE_KEY, SourceResource
from adw_assets.settings import Settings


def build_defs(settings: Settings) -> dg.Definitions:
    return dg.Definitions(assets=source_tables(), resources={RESOURCE_KEY: SourceResource()})
