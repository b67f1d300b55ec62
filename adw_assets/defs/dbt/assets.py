"""The dbt models, seeds and tests as Dagster assets and asset checks."""

from collections.abc import Iterator

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from adw_assets.defs.dbt.resources import dbt_project, manifest_path
from adw_assets.defs.dbt.translator import AdwDbtTranslator
from adw_assets.lib.dbt import dbt_environ, release_duckdb


class DbtBuildConfig(dg.Config):
    """Run config of the dbt assets."""

    full_refresh: bool = False
    """Rebuild the incremental models from scratch (``dbt build --full-refresh``)."""


@dbt_assets(
    manifest=manifest_path,
    project=dbt_project,
    dagster_dbt_translator=AdwDbtTranslator(),
    name="adw_dbt_models",
)
def adw_dbt_models(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, config: DbtBuildConfig
) -> Iterator:
    """``dbt build`` of the selected models (tests run as asset checks), with row counts and
    column metadata on each materialization."""
    args = ["build", "--full-refresh"] if config.full_refresh else ["build"]
    with dbt_environ():
        try:
            yield from (
                dbt.cli(args, context=context)
                .stream()
                .fetch_row_counts()
                .fetch_column_metadata(with_column_lineage=False)
            )
        finally:
            release_duckdb()
