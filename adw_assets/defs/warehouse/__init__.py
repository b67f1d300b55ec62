"""Domain ``warehouse``: the warehouse resource (DuckDB or BigQuery) the other domains share."""

from __future__ import annotations

import dagster as dg

from adw_assets.defs.warehouse.resources import RESOURCE_KEY, warehouse_resource
from adw_assets.settings import Settings


def build_defs(settings: Settings) -> dg.Definitions:
    return dg.Definitions(resources={RESOURCE_KEY: warehouse_resource(settings)})
