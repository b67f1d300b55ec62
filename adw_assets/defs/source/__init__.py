"""Domain ``source``: the AdventureWorks tables in PostgreSQL."""

import dagster as dg

from adw_assets.defs.source.assets import source_tables

defs = dg.Definitions(assets=[*source_tables])
