"""Benchmark `adw up` on a fresh ADW_HOME, optionally side by side with another commit.

    .venv/bin/python bench/up.py                      # this checkout, 2 runs
    .venv/bin/python bench/up.py --against main~5     # this checkout and main~5, alternating

Each run: a new temporary ADW_HOME (its own embedded PostgreSQL, seeded at scale 1, 2,000 web
events), `adw up` as a user types it, timed from the outside (wall seconds, peak RSS of the
process tree). With --against, the other commit is checked out in a temporary git worktree and
run with this venv (same dependencies), the two alternating so that both see the same machine.
Prints each run's step table (as `adw up` prints it), then medians and the ratio.
Not a pass/fail test: it prints figures.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
STEP = re.compile(r"^(\S[\w ./()-]*?)\s{2,}(\d+\.\d)$")


def _env(home: Path, checkout: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ADW_", "DAGSTER_HOME"))}
    env.update(
        ADW_HOME=str(home),
        PYTHONPATH=str(checkout),
        DO_NOT_TRACK="1",
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        DAGSTER_DISABLE_TELEMETRY="1",
    )
    return env


def run_up(checkout: Path, label: str) -> dict:
    """One `adw up` of ``checkout`` in a fresh ADW_HOME: wall seconds, peak RSS, steps."""
    home = Path(tempfile.mkdtemp(prefix=f"adw-bench-up-{label}-"))
    os.chmod(home, 0o755)  # the embedded server runs as another OS user when root
    argv = [sys.executable, "-c", "from adw_assets.cli import main; main()", "up"]
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    started = time.perf_counter()
    try:
        done = subprocess.run(
            argv, cwd=checkout, env=_env(home, checkout), capture_output=True, text=True
        )
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            sys.exit(f"{label}: adw up failed ({done.returncode}):\n{done.stderr[-3000:]}")
        stop = [sys.executable, "-c", "from adw_assets.cli import main; main()"]
        subprocess.run([*stop, "source", "stop"], cwd=checkout, env=_env(home, checkout),
                       capture_output=True)  # fmt: skip
    finally:
        shutil.rmtree(home, ignore_errors=True)
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    steps = {m[1]: float(m[2]) for m in map(STEP.match, done.stdout.splitlines()) if m}
    return {"seconds": seconds, "peak_mb": max(peak, before) / 1024, "steps": steps}


def _worktree(ref: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix="adw-bench-ref-"))
    subprocess.run(["git", "worktree", "add", "--detach", str(path), ref], cwd=REPO,
                   check=True, capture_output=True)  # fmt: skip
    return path


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=2, help="runs per checkout")
    parser.add_argument("--against", metavar="REF", help="also run this git commit, alternating")
    args = parser.parse_args(argv)
    checkouts = {"this": REPO}
    if args.against:
        checkouts = {args.against: _worktree(args.against), **checkouts}
    results: dict[str, list[dict]] = {label: [] for label in checkouts}
    try:
        for n in range(args.runs):
            for label, checkout in checkouts.items():
                r = run_up(checkout, re.sub(r"\W", "_", label))
                results[label].append(r)
                steps = ", ".join(f"{k} {v:.1f}" for k, v in r["steps"].items())
                print(f"run {n + 1} {label:<10} {r['seconds']:6.1f} s  peak RSS "
                      f"{r['peak_mb']:5.0f} MB  [{steps}]", flush=True)  # fmt: skip
    finally:
        if args.against:
            subprocess.run(["git", "worktree", "remove", "--force", str(checkouts[args.against])],
                           cwd=REPO, capture_output=True)  # fmt: skip
    print("\nmedian wall seconds of `adw up` on a fresh ADW_HOME (scale 1, 2,000 events)")
    medians = {k: statistics.median(r["seconds"] for r in v) for k, v in results.items()}
    for label, median in medians.items():
        print(f"  {label:<10} {median:6.1f} s")
    if args.against:
        print(f"  this / {args.against}: {medians['this'] / medians[args.against]:.2f}x")


if __name__ == "__main__":
    main()
