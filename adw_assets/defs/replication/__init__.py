"""Domain ``replication``: the 12 replicated tables, by the embedded replicator (default) or by
Airbyte (``ADW_REPLICATION=airbyte``), with the same asset keys, checks and freshness policy."""

from __future__ import annotations

import warnings

import dagster as dg

from adw_assets.defs.replication.assets import FRESHNESS, build_replication_assets
from adw_assets.defs.replication.checks import build_replication_checks
from adw_assets.defs.replication.resources import RESOURCE_KEY, ReplicationResource
from adw_assets.settings import get_settings


def _with_freshness(spec: dg.AssetSpec) -> dg.AssetSpec:
    if spec.freshness_policy is not None:
        return spec
    return spec.replace_attributes(freshness_policy=FRESHNESS)


def build_defs() -> dg.Definitions:
    settings = get_settings()
    prefix = settings.raw_prefix
    if settings.replication == "airbyte":
        from adw_assets.defs.replication.airbyte import build_airbyte_defs

        with warnings.catch_warnings():  # map_asset_specs is a preview API in dagster 1.13
            warnings.simplefilter("ignore", category=dg.PreviewWarning)  # type: ignore[attr-defined]
            backend = build_airbyte_defs().map_asset_specs(func=_with_freshness)
    else:
        backend = dg.Definitions(assets=[build_replication_assets(prefix)])
    if settings.warehouse == "bigquery":  # issue 7 hook: the same checks, run on BigQuery
        from adw_assets.defs.replication.bigquery import bigquery_checks_defs

        checks = bigquery_checks_defs()
    else:
        checks = dg.Definitions(asset_checks=[build_replication_checks(prefix)])
    return dg.Definitions.merge(
        backend, checks, dg.Definitions(resources={RESOURCE_KEY: ReplicationResource()})
    )


defs = build_defs()
