"""``adw build [SELECT]``: the dbt build (and the dashboard snapshot) of ``elt_job``, in this
process, with a summary and the answers to the business questions."""

from __future__ import annotations

import click
import dagster as dg

from adw_assets.cli import pipeline
from adw_assets.defs.dashboard.assets import SNAPSHOT_KEY
from adw_assets.defs.dbt.assets import OP_NAME
from adw_assets.errors import AdwError, ConfigError


class BuildError(AdwError):
    """dbt models or tests failed."""


def build_selection(defs: dg.Definitions, select: str | None) -> set[dg.AssetKey]:
    """The dbt models and seeds matching the dbt selection ``select`` (all when ``None``),
    plus the dashboard snapshot when it reads one of them."""
    from dagster_dbt import build_dbt_asset_selection

    graph = defs.resolve_asset_graph()
    dbt_models = next(
        a for a in defs.assets if isinstance(a, dg.AssetsDefinition) and a.op.name == OP_NAME
    )
    keys = build_dbt_asset_selection([dbt_models], dbt_select=select or "fqn:*").resolve(graph)
    if not keys:
        raise ConfigError(
            f"no dbt model or seed matches {select!r}; use dbt selection syntax, e.g. "
            "'marts', '+fct_orders', 'stg_sales__orders' (see `cd dbt && dbt ls`)."
        )
    if keys & graph.get(SNAPSHOT_KEY).parent_keys:
        keys.add(SNAPSHOT_KEY)
    return keys


def _names_missing_replicated_table(message: str) -> bool:
    """dbt's error says a replicated namespace (``raw_sales``, ...) or its table is missing."""
    from adw_assets.lib.source.catalog import SCHEMAS
    from adw_assets.settings import get_settings

    prefix = get_settings().raw_prefix
    missing = "does not exist" in message or "not found" in message.lower()
    return missing and any(prefix + schema in message for schema in SCHEMAS)


def run_build(select: str | None = None, *, full_refresh: bool = False, quiet: bool = False):
    """Build ``select`` through Dagster; returns the run's :class:`pipeline.RunSummary`."""
    defs = pipeline.load_definitions()
    job = pipeline.elt_job_subset(defs, build_selection(defs, select))
    return pipeline.run(job, command="build", full_refresh=full_refresh, quiet=quiet)


@click.command(name="build")
@click.argument("select", required=False)
@click.option("--full-refresh", is_flag=True, help="Rebuild incremental models from scratch.")
@click.option(
    "--answers/--no-answers",
    default=True,
    show_default=True,
    help="Print the short answers to the business questions after a full build.",
)
def command(select: str | None, full_refresh: bool, answers: bool) -> None:
    """Run dbt build for SELECT (dbt selection syntax, e.g. 'marts' or '+fct_orders'; default:
    everything) through Dagster: models become materializations, tests asset checks; then
    refresh the dashboard snapshot."""
    from adw_assets.lib.dbt import card_hash_salt
    from adw_assets.settings import get_settings

    card_hash_salt(get_settings())  # a missing salt stops here, in one line, before Dagster
    click.echo(f"dbt build {select or '(all)'} through Dagster ...", err=True)
    summary = run_build(select, full_refresh=full_refresh)
    pipeline.print_build(summary)
    pipeline.print_outcome(summary)
    if not summary.success:
        hint = "fix the model or data and run `adw build` again"
        if any(_names_missing_replicated_table(m) for m in summary.dbt_errors.values()):
            hint = "the replicated tables are missing: run `adw replicate` first"
        raise BuildError(
            f"dbt build failed: see the failures above and the run in `adw dev` "
            f"(run {summary.run_id}); {hint}."
        )
    if answers and select is None:
        pipeline.print_answers()
