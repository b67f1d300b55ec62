"""The dbt models, seeds and tests as Dagster assets and asset checks."""

from collections.abc import Iterator
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets
from dagster_dbt.core.dbt_event_iterator import DbtEventIterator

from adw_assets.defs.dbt.resources import dbt_project
from adw_assets.defs.dbt.translator import AdwDbtTranslator
from adw_assets.defs.warehouse.resources import POOL
from adw_assets.lib.dagster_home import FULL_REFRESH_TAG
from adw_assets.lib.dbt import (
    dbt_environ,
    finish_run_target,
    release_duckdb,
    run_target,
    store_card_hash_salt,
)
from adw_assets.lib.secrets import redacted_errors
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
        store_card_hash_salt(settings)  # refuses a missing salt off the local default
        target = run_target(settings, f"{context.run_id[:8]}-{OP_NAME}")
        with redacted_errors(), dbt_environ(settings):
            try:
                invocation = dbt.cli(args, context=context, target_path=target)
                # DuckDB admits no reader while dbt writes, so dagster-dbt fetches row counts
                # and column schemas after dbt exits anyway; collecting the events first avoids
                # its busy wait (a spinning thread per fetch_* while dbt runs, on 2 cores): the
                # public chain stream().fetch_row_counts()... doubled this process's CPU during
                # `adw build` (38-42 s vs 19-20 s). DbtEventIterator is the class stream()
                # returns, not exported: the one allowed exception of tests/test_public_apis.py.
                events, failure = [], None
                try:
                    events.extend(invocation.stream())
                except Exception as exc:  # dbt failed: still record what it built, then fail
                    failure = exc
                yield from (
                    DbtEventIterator(iter(events), invocation)
                    .fetch_row_counts()
                    .fetch_column_metadata(with_column_lineage=False)
                )
                if failure is not None:  # a failing model or test fails the same way again:
                    # no step retry (dbt's adapters retry their own transient errors)
                    raise dg.Failure(description=str(failure), allow_retries=False) from failure
            finally:
                release_duckdb()
                finish_run_target(settings, target)

    return adw_dbt_models
