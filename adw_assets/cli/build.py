"""``adw build [SELECT]``: the dbt build (and the dashboard snapshot) of ``elt_job``, in this
process, with a summary and the answers to the business questions.

A whole build whose inputs did not change since the last one that succeeded (same dbt project
and environment, same replicated rows, same web-event files, same day) does nothing: it would
write what the warehouse already holds (``lib/dbt_state.build_state``). Dagster and dbt are then
not even imported. When some of them changed, the dbt step rebuilds only the models downstream
of the sources with new data (``defs/dbt/assets.py``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from adw_assets.cli._common import print_answers
from adw_assets.errors import AdwError, ConfigError

if TYPE_CHECKING:
    import dagster as dg


class BuildError(AdwError):
    """dbt models or tests failed."""


def build_selection(defs: dg.Definitions, select: str | None) -> set[dg.AssetKey]:
    """The dbt models and seeds matching the dbt selection ``select`` (all when ``None``),
    plus the dashboard snapshot when it reads one of them."""
    import dagster as dg
    from dagster_dbt import build_dbt_asset_selection

    from adw_assets.defs.dashboard.assets import SNAPSHOT_KEY
    from adw_assets.defs.dbt.assets import OP_NAME

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
    from adw_assets.cli import pipeline

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
    from adw_assets.lib.dbt_state import build_state, last_build
    from adw_assets.lib.serving import MANIFEST, serving_dir
    from adw_assets.settings import get_settings

    settings = get_settings()
    card_hash_salt(settings)  # a missing salt stops here, in one line, before Dagster
    state = build_state(settings) if select is None else None
    previous = last_build(settings) or {}
    if (
        state is not None
        and not full_refresh
        and previous.get("state") == state
        and (serving_dir(settings) / MANIFEST).exists()
    ):
        click.echo(
            f"nothing new since the last build (Dagster run {previous.get('run_id')}): same "
            "replicated rows, web events, dbt project and day, so the models, their checks and "
            "the dashboard snapshot are current; `adw build --full-refresh` rebuilds anyway",
            err=True,
        )
        if answers:
            print_answers()
        return
    from adw_assets.cli import pipeline

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
        print_answers()
