"""Domain ``replication``: the 12 replicated tables, their checks and who replicates them (the
embedded replicator, or Airbyte with ``ADW_REPLICATION=airbyte``): one graph either way; and
the sensor that builds on what the continuous CDC mode (``adw replicate --follow``) applied."""

from __future__ import annotations

import dagster as dg

from adw_assets.defs.replication.assets import build_replicated_tables
from adw_assets.defs.replication.checks import build_replication_checks
from adw_assets.defs.replication.resources import RESOURCE_KEY, replicator_resource
from adw_assets.defs.replication.sensors import cdc_changes_applied_sensor
from adw_assets.settings import Settings


def build_defs(settings: Settings) -> dg.Definitions:
    replicator = replicator_resource(settings)
    kinds = {settings.warehouse, *replicator.kinds}
    return dg.Definitions(
        assets=[build_replicated_tables(settings.raw_prefix, kinds)],
        asset_checks=[
            build_replication_checks(
                settings.raw_prefix,
                cdc=settings.replication_method == "cdc" and settings.replication != "airbyte",
            )
        ],
        sensors=[cdc_changes_applied_sensor],
        resources={RESOURCE_KEY: replicator},
    )
