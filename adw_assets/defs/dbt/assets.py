"""The dbt models, seeds and tests as Dagster assets and asset checks."""

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from adw_assets.defs.dbt.resources import dbt_project
from adw_assets.defs.dbt.translator import AdwDbtTranslator
from adw_assets.defs.warehouse.resources import POOL
from adw_assets.lib.dagster_home import FULL_REFRESH_TAG
from adw_assets.lib.dbt import dbt_environ, finish_run_target, release_duckdb, run_target
from adw_assets.settings import get_settings

OP_NAME = "adw_dbt_models"


class DbtBuildConfig(dg.Config):
    """Run config of the dbt assets."""

    full_refresh: bool = False
    """Rebuild the incremental models from scratch (``dbt build --full-refresh``)."""


def build_dbt_models(manifest: Path, translator: AdwDbtTranslator) -> dg.AssetsDefinition:
    """Every dbt model, seed and test of the project (manifest parsed for the current target)."""

    @dbt_assets(
        manifest=manifest,
        project=dbt_project,
        dagster_dbt_translator=translator,
        name=OP_NAME,
        pool=POOL,
    )
    def adw_dbt_models(
        context: dg.AssetExecutionContext, dbt: DbtCliResource, config: DbtBuildConfig
    ) -> Iterator:
        """``dbt build`` of the selected models (tests run as asset checks), with row counts
        and column metadata on each materialization."""
        full = config.full_refresh or context.run.tags.get(FULL_REFRESH_TAG) == "true"
        args = ["build", "--full-refresh"] if full else ["build"]
        settings = get_settings()
        # artifacts under $ADW_HOME/dbt/runs (pruned), reusing this home's last partial parse
        target = run_target(settings, f"{context.run_id[:8]}-{OP_NAME}")
        with dbt_environ(settings):
            try:
                # dbt's lines stream live; on DuckDB (no reader while dbt writes) dagster-dbt
                # fetches row counts and column schemas once dbt exits, and a failed build
                # still yields what it built before its error is raised
                yield from (
                    dbt.cli(args, context=context, target_path=target)
                    .stream()
                    .fetch_row_counts()
                    .fetch_column_metadata(with_column_lineage=False)
                )
            finally:
                release_duckdb()
                finish_run_target(settings, target)

    return adw_dbt_models
