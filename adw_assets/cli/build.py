"""``adw build [SELECT]``: dbt build of a selection, run through Dagster, with a summary.

``run_build`` and ``print_answers`` are also what ``adw up`` calls after replication.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import click

from adw_assets.cli._common import echo_table
from adw_assets.errors import AdwError, ConfigError
from adw_assets.settings import get_settings


class BuildError(AdwError):
    """dbt models or tests failed."""


@dataclass
class BuildSummary:
    success: bool
    run_id: str
    seconds: float
    materialized: list[str] = field(default_factory=list)
    row_counts: dict[str, int] = field(default_factory=dict)
    checks_passed: int = 0
    checks_failed: list[str] = field(default_factory=list)
    """Failed checks (error severity) as ``asset:check``; warnings are in ``checks_warned``."""
    checks_warned: list[str] = field(default_factory=list)
    errors: dict[str, str] = field(default_factory=dict)
    """dbt nodes that errored (model, seed, unit test) -> first line of dbt's message."""
    skipped: int = 0


@contextlib.contextmanager
def _dagster_logs_not_propagated():
    """Keep Dagster's per-event debug records off the root logger (``adw -v`` shows them)."""
    logger = logging.getLogger("dagster")
    saved = logger.propagate
    logger.propagate = logging.getLogger().level <= logging.DEBUG
    try:
        yield
    finally:
        logger.propagate = saved


def run_build(
    select: str | None = None, *, full_refresh: bool = False, quiet: bool = False
) -> BuildSummary:
    """Materialize the dbt assets (``dbt build``) for a dbt selection, through Dagster.

    The run is recorded in the Dagster instance under ``$ADW_HOME/dagster``. Returns what was
    built; raises nothing on model/test failure (see ``BuildSummary.success``).
    """
    import dagster as dg
    from dagster_dbt import build_dbt_asset_selection

    settings = get_settings()
    settings.ensure_dirs()
    os.environ["DAGSTER_HOME"] = str(settings.dagster_home)
    from adw_assets.defs.dbt.assets import adw_dbt_models
    from adw_assets.defs.dbt.resources import dbt_resource

    selection = build_dbt_asset_selection([adw_dbt_models], dbt_select=select or "fqn:*")
    if not selection.resolve([adw_dbt_models]):
        raise ConfigError(
            f"no dbt model or seed matches {select!r}; use dbt selection syntax, e.g. "
            "'marts', '+fct_orders', 'stg_sales__orders' (see `cd dbt && dbt ls`)."
        )
    run_config = {
        "ops": {"adw_dbt_models": {"config": {"full_refresh": full_refresh}}},
        # the Dagster event log stays in the instance; the console shows dbt's own progress,
        # and failures come back in the summary (no traceback on the console)
        "loggers": {"console": {"config": {"log_level": "CRITICAL"}}},
    }
    started = time.perf_counter()
    with contextlib.ExitStack() as stack:
        instance = stack.enter_context(dg.DagsterInstance.get())
        # dagster-dbt echoes dbt's log lines on stdout: progress, so stderr (or nothing)
        progress = stack.enter_context(open(os.devnull, "w")) if quiet else sys.stderr
        stack.enter_context(contextlib.redirect_stdout(progress))
        stack.enter_context(_dagster_logs_not_propagated())
        result = dg.materialize(
            [adw_dbt_models],
            selection=selection,
            instance=instance,
            resources={"dbt": dbt_resource},
            run_config=run_config,
            raise_on_error=False,
            tags={"adw/command": "build", "adw/select": select or "*"},
        )
    summary = BuildSummary(
        success=result.success, run_id=result.run_id, seconds=time.perf_counter() - started
    )
    for mat in result.asset_materializations_for_node("adw_dbt_models"):
        key = mat.asset_key.to_user_string()
        summary.materialized.append(key)
        rows = mat.metadata.get("dagster/row_count")
        if rows is not None:
            summary.row_counts[key] = int(rows.value)
    _read_run_results(summary, settings.home / "dbt" / "runs")
    for evaluation in result.get_asset_check_evaluations():
        name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
        if evaluation.passed:
            summary.checks_passed += 1
        elif evaluation.severity == dg.AssetCheckSeverity.WARN:
            summary.checks_warned.append(name)
        else:
            summary.checks_failed.append(name)
    return summary


def _read_run_results(summary: BuildSummary, runs: Path) -> None:
    """Errored and skipped dbt nodes, from the run's run_results.json."""
    for path in runs.glob(f"{summary.run_id[:8]}-*/run_results.json"):
        for node in json.loads(path.read_text())["results"]:
            if node["status"] == "error":
                message = (node.get("message") or "").strip().splitlines()
                summary.errors[node["unique_id"]] = " ".join(message[1:2] or message[:1]).strip()
            elif node["status"] == "skipped":
                summary.skipped += 1


def echo_summary(summary: BuildSummary) -> None:
    """The build summary on stdout: marts and their rows, checks, time."""
    marts = sorted((k, v) for k, v in summary.row_counts.items() if k.startswith("marts/"))
    if marts:
        echo_table(marts, ("table", "rows"))
    click.echo(
        f"\n{len(summary.materialized)} models/seeds built, {summary.checks_passed} checks "
        f"passed, {len(summary.checks_warned)} warned, {len(summary.checks_failed)} failed "
        f"in {summary.seconds:.1f} s (Dagster run {summary.run_id})"
    )
    for name in summary.checks_warned:
        click.secho(f"  warn: {name}", fg="yellow")
    for name in summary.checks_failed:
        click.secho(f"  FAIL: {name}", fg="red")
    for node, message in summary.errors.items():
        click.secho(f"  ERROR: {node}: {message}", fg="red")
    if summary.skipped:
        click.echo(f"  {summary.skipped} dbt nodes skipped after the failures")


def _rows(duckdb_path: Path, sql: str) -> list[tuple]:
    import duckdb

    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        return con.execute(sql).fetchall()


def _money(value) -> str:
    return f"{value:,.2f}" if value is not None else "-"


def print_answers(duckdb_path: Path | str | None = None, months: int = 3, top: int = 5) -> None:
    """Short answers to the four business questions, read from the rpt_* marts."""
    path = Path(duckdb_path) if duckdb_path else get_settings().duckdb_path
    if not path.exists():
        raise AdwError(f"no warehouse at {path}; run `adw up` or `adw replicate` + `adw build`.")
    try:
        categories = _rows(
            path,
            "select category_name, sum(revenue), sum(units_sold), sum(order_count) "
            "from marts.rpt_sales_by_product_category group by 1 order by 2 desc",
        )
        acquisition = _rows(
            path,
            "select month_start, new_customers, active_customers, avg_spend_per_customer "
            f"from marts.rpt_customer_acquisition order by month_start desc limit {months}",
        )
        statuses = _rows(
            path,
            "select status_name, order_count, online_order_count, total_due "
            "from marts.rpt_order_status order by status_code",
        )
        countries = _rows(
            path,
            "select country_name, sum(order_count), sum(total_due) "
            f"from marts.rpt_sales_by_geography group by 1 order by 3 desc limit {top}",
        )
    except Exception as exc:  # duckdb.CatalogException and friends
        raise AdwError(
            f"the marts are not built in {path} ({exc}); run `adw build` first."
        ) from None
    total = sum(r[1] for r in categories) or 1
    click.echo("\n1. Top product categories by revenue")
    for name, revenue, units, _orders in categories[:top]:
        click.echo(f"   {name:<14} {_money(revenue):>18}  {revenue / total:6.1%}  {units:,} units")
    click.echo(f"\n2. New customers, last {len(acquisition)} months")
    for month, new, active, avg_spend in reversed(acquisition):
        click.echo(
            f"   {month:%Y-%m}  {new:>6,} new  {active:>6,} active  avg spend {_money(avg_spend)}"
        )
    click.echo("\n3. Orders by status")
    for name, count, online, due in statuses:
        click.echo(f"   {name:<12} {count:>8,} orders  {online:>8,} online  {_money(due):>18}")
    click.echo(f"\n4. Top {len(countries)} ship-to countries by total due")
    for name, count, due in countries:
        click.echo(f"   {name:<20} {count:>8,} orders  {_money(due):>18}")


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
    everything) through Dagster: models become materializations, tests asset checks."""
    click.echo(f"dbt build {select or '(all)'} through Dagster ...", err=True)
    summary = run_build(select, full_refresh=full_refresh)
    echo_summary(summary)
    if not summary.success:
        hint = "fix the model or data and run `adw build` again"
        if any("raw_" in m and "does not exist" in m for m in summary.errors.values()):
            hint = "the replicated tables are missing: run `adw replicate` first"
        raise BuildError(
            f"dbt build failed: see the failures above and the run in `adw dev` "
            f"(run {summary.run_id}); {hint}."
        )
    if answers and select is None:
        print_answers()
