"""Benchmark the dbt build: full build, then an incremental build after ~1% of changes.

    .venv/bin/python bench/dbt_build.py                  # scales 1 and 10
    .venv/bin/python bench/dbt_build.py --scales 1 --dagster

For each scale, in a temporary ADW_HOME with its own embedded PostgreSQL:
seed -> replicate -> `dbt build` (full, timed) -> `adw source simulate` with orders and updates
of 1% of the orders -> replicate -> `dbt build` (incremental, timed). With --dagster the two
builds also run through Dagster (`adw build`: materializations, checks, row counts).

Figures: wall seconds of each step, and dbt's own time (run_results elapsed) for the builds.
Targets on 2 cores (issue 4): full build at scale 1 <= 20 s, incremental after 1% <= 10 s.
Not a pass/fail test: it prints figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")


def _use_home(home: Path):
    from adw_assets.settings import get_settings

    for name in [n for n in os.environ if n.startswith("ADW_")]:
        del os.environ[name]
    os.environ["ADW_HOME"] = str(home)
    os.environ["DAGSTER_HOME"] = str(home / "dagster")
    get_settings.cache_clear()
    settings = get_settings()
    settings.ensure_dirs()
    return settings


def _timed(label: str, fn, *args, **kwargs):
    started = time.perf_counter()
    result = fn(*args, **kwargs)
    seconds = time.perf_counter() - started
    print(f"  {label:<44} {seconds:7.1f} s", flush=True)
    return result, seconds


def _dbt_build(settings, target: Path) -> float:
    """dbt build; dbt's own elapsed seconds (without interpreter start and parse)."""
    from adw_assets.lib.dbt import run_dbt

    run_dbt(["build"], settings=settings, target_path=target)
    return json.loads((target / "run_results.json").read_text())["elapsed_time"]


def _quiet(_message: str) -> None:
    pass


def bench_scale(scale: float, dagster: bool) -> dict[str, float]:
    from adw_assets.cli.build import run_build
    from adw_assets.lib.replication import replicate_from_settings
    from adw_assets.lib.source import server
    from adw_assets.lib.source.seed import seed_database
    from adw_assets.lib.source.simulate import simulate

    home = Path(tempfile.mkdtemp(prefix=f"adw-bench-dbt-{scale:g}-"))
    os.chmod(home, 0o755)  # the embedded server runs as another OS user when root
    settings = _use_home(home)
    figures: dict[str, float] = {}
    print(f"scale {scale:g} (ADW_HOME={home})", flush=True)
    try:
        dsn = server.source_dsn(settings)
        counts, _ = _timed("seed", seed_database, dsn, scale=scale, progress=_quiet)
        orders = counts["sales.salesorderheader"]
        print(f"  {orders:,} orders, {counts['sales.salesorderdetail']:,} lines")
        _timed("replicate (full)", replicate_from_settings, settings)
        target = home / "dbt-target"
        dbt_seconds, figures["full"] = _timed("dbt build (full)", _dbt_build, settings, target)
        print(f"  {'  of which dbt run_results elapsed':<44} {dbt_seconds:7.1f} s")
        if dagster:
            summary, figures["full_dagster"] = _timed(
                "adw build through Dagster (full)", run_build, None, quiet=True
            )
            assert summary.success, summary.checks_failed
        changes = max(1, orders // 100)
        _timed(
            f"simulate {changes} orders + {changes} updates",
            simulate,
            dsn,
            orders=changes,
            updates=changes,
            seed=1,
            progress=_quiet,
        )
        _timed("replicate (incremental)", replicate_from_settings, settings)
        dbt_seconds, figures["incremental"] = _timed(
            "dbt build (incremental)", _dbt_build, settings, target
        )
        print(f"  {'  of which dbt run_results elapsed':<44} {dbt_seconds:7.1f} s")
        if dagster:
            simulate(dsn, orders=changes, updates=changes, seed=2, progress=_quiet)
            replicate_from_settings(settings)
            summary, figures["incremental_dagster"] = _timed(
                "adw build through Dagster (incremental)", run_build, None, quiet=True
            )
            assert summary.success, summary.checks_failed
    finally:
        server.stop_embedded(settings)
        shutil.rmtree(home, ignore_errors=True)
    return figures


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scales", type=float, nargs="+", default=[1.0, 10.0])
    parser.add_argument("--dagster", action="store_true", help="also build through Dagster")
    args = parser.parse_args(argv)
    results = {scale: bench_scale(scale, args.dagster) for scale in args.scales}
    print("\nsummary (wall seconds, including dbt start-up and parse)")
    for scale, figures in results.items():
        line = ", ".join(f"{k} {v:.1f}" for k, v in figures.items())
        print(f"  scale {scale:g}: {line}")
    sys.exit(0)


if __name__ == "__main__":
    main()
