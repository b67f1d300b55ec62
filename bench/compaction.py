"""Landing-zone compaction: 1M events landed over a day, one micro-batch a second, then
compacted; files before/after, compaction time, and an incremental fct_web_events build over
the raw files beside the same build over the compacted ones (same run, same events).

    .venv/bin/python bench/compaction.py [--events 1000000] [--batch-seconds 1]

Runs in a temporary ADW_HOME. The day ends two hours ago, so every hour of it is closed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import tempfile
import time
from pathlib import Path


def _files(landing: Path) -> int:
    return sum(1 for _ in landing.glob("*/*.parquet"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch-seconds", type=float, default=1.0)
    args = parser.parse_args()
    home = Path(tempfile.mkdtemp(prefix="adw-bench-compaction-"))
    os.environ["ADW_HOME"] = str(home)
    os.environ["ADW_EVENTS_LOOKBACK_HOURS"] = "48"  # the whole day is re-read: a worst case
    from adw_assets.lib.dbt import run_dbt
    from adw_assets.lib.events import history
    from adw_assets.lib.events.compact import compact
    from adw_assets.lib.events.config import events_config
    from adw_assets.settings import get_settings

    settings, cfg = get_settings(), events_config()
    end = (time.time() // 3600 - 2) * 3600
    t = time.perf_counter()
    history(end - 86400, 86400, args.events, batch_seconds=args.batch_seconds, source="day")
    landed_s = time.perf_counter() - t
    raw_files = _files(cfg.landing_dir)
    print(f"landed {args.events:,} events over a day: {raw_files:,} files ({landed_s:.0f} s)")

    models = ["stg_web__events", "fct_web_events"]

    def build(name: str, *extra: str) -> float:
        t = time.perf_counter()
        run_dbt(["run", "-s", *models, *extra], settings=settings, target_path=home / name)
        return time.perf_counter() - t

    # the same incremental build twice, each after 1,000 new events in the open hour: over
    # the raw micro-batches, then (after compaction of the day) over the compacted files
    build("full-raw", "--full-refresh")
    history(time.time() - 20, 10, 1000, batch_seconds=1, source="new")
    raw_incremental = build("inc-raw")
    t = time.perf_counter()
    summary = compact(cfg, progress=print)
    compact_s = time.perf_counter() - t
    day_files = sum(1 for _ in cfg.landing_dir.glob("*/compact-*.parquet"))
    print(summary.line())
    history(time.time() - 20, 10, 1000, batch_seconds=1, source="new2")
    compacted_incremental = build("inc-compacted")

    print()
    print("| figure | raw micro-batches | compacted |")
    print("|---|---|---|")
    print(f"| files for the day of {args.events:,} events | {raw_files:,} | {day_files} |")
    print(f"| compaction of the day | | {compact_s:.1f} s |")
    print(
        f"| fct_web_events incremental, 1,000 new events, 48 h lookback (dbt wall) | "
        f"{raw_incremental:.1f} s | {compacted_incremental:.1f} s |"
    )
    shutil.rmtree(home, ignore_errors=True)


if __name__ == "__main__":
    main()
