"""Benchmark the dashboard's data: each page's queries (the charts its view asks for on a
first render, no filter chosen) through the snapshot and MetricFlow, the first time (engine
built, SQL compiled) and again (compiled SQL cached), on a scale-1 build.

    .venv/bin/python bench/dashboard.py                 # a fresh home: adw up --scale 1 first
    .venv/bin/python bench/dashboard.py --home .adw     # a snapshot adw up/build made

Bound (issue 17): a page's data under 1 s after the first load, on 2 cores. Not pass/fail: it
prints figures and the ratio to the bound.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")

BIN = Path(sys.executable).parent
BOUND = 1.0

PAGES: dict[str, list[tuple[str, dict]]] = {
    "overview": [("products_kpis", {}), ("customers_kpis", {}), ("orders_kpis", {}),
                 ("geo_kpis", {}), ("web_kpis", {}),
                 ("revenue_by_category", {"order_by": ["revenue"], "descending": True}),
                 ("customers_by_month", {})],
    "products": [("products_kpis", {}),
                 ("revenue_by_subcategory", {"order_by": ["revenue"], "descending": True}),
                 ("revenue_by_category", {"order_by": ["revenue"], "descending": True})],
    "customers": [("customers_by_month", {}), ("customers_kpis", {})],
    "orders": [("orders_kpis", {}), ("orders_by_status", {}),
               ("orders_by_status", {"where": [("is_backlog", "=", True)]})],
    "geography": [("geo_by_country", {"order_by": ["geo_total_due"], "descending": True}),
                  ("geo_kpis", {}), ("geo_tree", {})],
    "web": [("web_kpis", {}), ("web_by_country", {"order_by": ["sessions"], "descending": True}),
            ("web_daily", {}), ("web_corr_by_country", {})],
}  # fmt: skip
"""The charts each view (dashboard/views/) reads on its first render."""


def _page(snap, calls: list[tuple[str, dict]]) -> None:
    from adw_assets.lib import charts

    for name, kwargs in calls:
        snap.refresh()  # as dashboard/ui.py does before each chart: re-attach if replaced
        charts.chart(snap, name, **kwargs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--home", type=Path, help="an ADW_HOME with a snapshot (default: build)")
    parser.add_argument("--scale", default="1")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    home = args.home
    if home is None:
        home = Path(tempfile.mkdtemp(prefix="adw-bench-dashboard-"))
        env = {k: v for k, v in os.environ.items() if not k.startswith("ADW_")}
        env |= {"ADW_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}
        print(f"adw up --scale {args.scale} in {home} ...", flush=True)
        subprocess.run([str(BIN / "adw"), "up", "--scale", args.scale], env=env, check=True,
                       capture_output=True)  # fmt: skip

    from adw_assets.lib.serving import Snapshot

    print(f"\nDashboard data per page (scale {args.scale}; median of {args.runs} cached runs)")
    print(f"{'page':<11} {'charts':>6} {'first (s)':>10} {'cached (s)':>11} {'x bound':>8}")
    for page, calls in PAGES.items():
        snap = Snapshot(home / "serving")  # a fresh reader: attach, engine, compile
        started = time.perf_counter()
        _page(snap, calls)
        first = time.perf_counter() - started
        runs = []
        for _ in range(args.runs):
            started = time.perf_counter()
            _page(snap, calls)
            runs.append(time.perf_counter() - started)
        cached = statistics.median(runs)
        print(f"{page:<11} {len(calls):>6} {first:>10.3f} {cached:>11.3f} {cached / BOUND:>8.2f}")
    print(f"bound: a page's data under {BOUND:.0f} s after the first load")


if __name__ == "__main__":
    main()
