"""The dbt models, seeds and tests as Dagster assets and asset checks."""

import json
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import dagster as dg
from dagster_dbt import DbtCliResource, dbt_assets

from adw_assets.defs.dbt.resources import dbt_project
from adw_assets.defs.dbt.translator import AdwDbtTranslator
from adw_assets.defs.warehouse.resources import POOL, WarehouseResource
from adw_assets.lib.dagster_home import FULL_REFRESH_TAG
from adw_assets.lib.dbt import (
    dbt_environ,
    finish_run_target,
    release_duckdb,
    run_target,
    store_card_hash_salt,
)
from adw_assets.lib.dbt_state import (
    after_selection,
    build_state,
    changed_sources,
    last_build,
    record_build,
    warm_exclusion,
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
        context: dg.AssetExecutionContext,
        dbt: DbtCliResource,
        warehouse: WarehouseResource,
        config: DbtBuildConfig,
    ) -> Iterator:
        """``dbt build`` of the selected models (tests run as asset checks), with row counts
        and column metadata on each materialization."""
        full = config.full_refresh or context.run.tags.get(FULL_REFRESH_TAG) == "true"
        args = ["build", "--full-refresh"] if full else ["build"]
        settings = get_settings()
        store_card_hash_salt(settings)  # refuses a missing salt off the local default
        # a whole build rebuilds only what new data reaches since the last one (lib/dbt_state)
        whole = not context.is_subset
        state = build_state(settings)
        previous = (last_build(settings) or {}).get("state")
        record_build(settings, None, context.run_id)  # a failure: rebuild everything next
        changed = None if full or not whole else changed_sources(previous, state)
        environ = {}
        manifest_json = json.loads(manifest.read_text())
        if changed is not None:
            together = dashboard_marts_ids(manifest_json)
            rebuilt, exclude = warm_exclusion(manifest_json, changed, together)
            if not rebuilt:
                _say(context, "nothing new since the last build: no dbt model to rebuild")
                record_build(settings, state, context.run_id)
                return
            _say(
                context,
                f"new data in {', '.join(sorted(changed))} since the last build: dbt builds the "
                f"{len(rebuilt)} models and seeds downstream of them, with their tests",
            )
            args += ["--exclude", " ".join(exclude)]
            environ["DBT_INDIRECT_SELECTION"] = "cautious"
        # artifacts under $ADW_HOME/dbt/runs (pruned), reusing this home's last partial parse
        target = run_target(settings, f"{context.run_id[:8]}-{OP_NAME}")
        with redacted_errors(), dbt_environ(settings, environ):
            try:
                invocation = dbt.cli(args, context=context, target_path=target)
                # DuckDB admits no reader while dbt writes: collect dbt's events, then read the
                # row counts and columns of everything built in two queries (dagster-dbt's
                # fetch_row_counts/fetch_column_metadata ran two per model in threads)
                events, failure = [], None
                try:
                    events.extend(invocation.stream())
                except Exception as exc:  # dbt failed: still record what it built, then fail
                    failure = exc
                release_duckdb()
                yield from with_table_metadata(events, invocation.manifest, warehouse, context.log)
                if failure is not None:  # a failing model or test fails the same way again:
                    # no step retry (dbt's adapters retry their own transient errors)
                    raise dg.Failure(description=str(failure), allow_retries=False) from failure
                if not whole:  # a selection: only the sources it rebuilt all of move on
                    built = {e.metadata["unique_id"].value for e in events if _built(e)}
                    state = after_selection(manifest_json, previous, state, built)
                record_build(settings, state, context.run_id)
            finally:
                release_duckdb()
                finish_run_target(settings, target)

    return adw_dbt_models


def _built(event) -> bool:
    return isinstance(event, dg.Output | dg.AssetMaterialization) and "unique_id" in event.metadata


def _say(context: dg.AssetExecutionContext, message: str) -> None:
    """In the run's log (the UI) and on stderr (``adw build``, ``adw up``)."""
    context.log.info(message)
    print(f"  {message}", file=sys.stderr, flush=True)


def dashboard_marts_ids(manifest: Mapping[str, Any]) -> set[str]:
    """Unique ids of the models the dashboard snapshot reads (``lib/serving.dashboard_marts``)."""
    from adw_assets.lib.serving import dashboard_marts

    names = {mart.name for mart in dashboard_marts(manifest)}
    return {
        uid
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] == "model" and node["name"] in names
    }


def with_table_metadata(
    events: Iterable, manifest: Mapping[str, Any], warehouse: WarehouseResource, log
) -> Iterator:
    """``events`` with, on each model and seed materialized, the metadata the Dagster UI shows
    for a table: ``dagster/column_schema``, and ``dagster/row_count`` for tables (not views,
    whose count would run their query), as dagster-dbt's fetch_* calls attached them."""
    events = list(events)
    built = {}
    for event in events:
        if isinstance(event, dg.Output | dg.AssetMaterialization):
            node = manifest["nodes"].get(event.metadata["unique_id"].value)
            if node is not None:
                built[id(event)] = node
    relations = {(n["schema"], n["alias"]) for n in built.values()}
    counted = {(n["schema"], n["alias"]) for n in built.values() if not _is_view(n)}
    shapes = {}
    if relations:
        try:
            with warehouse.open() as wh:
                shapes = wh.shapes(relations, counted)
        except Exception as exc:  # metadata only: the build itself succeeded
            log.warning(f"row counts and columns of the dbt models not read: {exc}")
    for event in events:
        node = built.get(id(event))
        shape = shapes.get((node["schema"], node["alias"])) if node else None
        if shape is None:
            yield event
            continue
        # the keys of Dagster's TableMetadataSet, which the UI shows as the table's schema
        extra: dict[str, Any] = {
            "dagster/column_schema": dg.TableSchema(
                columns=[dg.TableColumn(name=name, type=kind) for name, kind in shape.columns]
            )
        }
        if shape.rows is not None:
            extra["dagster/row_count"] = shape.rows
            extra["dagster/storage_kind"] = warehouse.kind
        yield event.with_metadata({**event.metadata, **extra})


def _is_view(node: Mapping[str, Any]) -> bool:
    return (node.get("config") or {}).get("materialized") == "view"
