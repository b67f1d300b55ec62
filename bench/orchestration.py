"""Benchmark what the orchestration costs over the work: `adw` commands vs plain dbt and the
replication engine, side by side in one run, optionally against another commit.

    .venv/bin/python bench/orchestration.py                    # this checkout
    .venv/bin/python bench/orchestration.py --against main     # main (before) and this (after)

Per checkout, in a fresh ADW_HOME (its own embedded PostgreSQL), each command as a user types
it (a new process, timed from the outside):
  1. `adw up` cold (seed at --scale, 2,000 web events, elt_job)
  2. plain `dbt build --full-refresh` (dbt/ with adw's environment and partial parse), then
     `adw build --full-refresh`: the same 181 nodes, every model rebuilt
  3. 1% changes (`adw source simulate`) + `adw replicate`, then plain `dbt build`; another 1% +
     `adw replicate`, then `adw build`: the incremental builds (replicate + build, with the
     dashboard snapshot = warm cycle), and how many models that build rebuilt
  4. `adw build` with nothing new
  5. 1% changes, `adw replicate` (wall) vs the engine alone (`replicate_from_settings`, timed
     inside its process, after another 1%)
  6. Dagster's floor: bench/dagster_floor.py runs a run of the same shape as the dbt step and
     the snapshot (and as the replication and its checks), each asset and check a no-op, in a
     new process and a fresh instance with adw's instance YAML
With --against, the other commit runs in a temporary git worktree with this venv, the two
checkouts alternating step by step so both see the same machine. Both manifests are prepared
before timing (a fresh clone parses once; that is not what is measured). Prints one table and
the load average. Not a pass/fail test: it prints figures.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
ADW = ["-c", "from adw_assets.cli import main; main()"]
ENGINE = """
import time
from adw_assets.settings import get_settings
from adw_assets.lib.replication import replicate_from_settings
t = time.perf_counter(); replicate_from_settings(get_settings()); print(time.perf_counter() - t)
"""
DBT_ENV = "import json; from adw_assets.lib.dbt import dbt_env; print(json.dumps(dbt_env()))"
# assets and checks of each step of elt_job (bench/dagster_floor.py runs a run of that shape)
SHAPES = """
import json
import dagster as dg
from adw_assets.cli import pipeline
defs = pipeline.load_definitions()
shape = {d.node_def.name: f"{len(d.keys)}:{len(d.check_keys)}"
         for d in [*defs.assets, *defs.asset_checks]
         if isinstance(d, dg.AssetsDefinition) and d.is_executable}
print(json.dumps(shape))
"""
ROWS = [
    ("up", "`adw up` cold, fresh ADW_HOME"),
    ("dbt_full", "plain `dbt build --full-refresh` (partial parse)"),
    ("build_full", "`adw build --full-refresh`"),
    ("dbt_incr", "plain `dbt build` after 1% changes"),
    ("replicate_incr", "`adw replicate` after 1% changes"),
    ("build_incr", "`adw build` after 1% changes"),
    ("warm_cycle", "warm cycle: `adw replicate` + `adw build`"),
    ("warm_models", "models/seeds the warm `adw build` rebuilt (count)"),
    ("build_noop", "`adw build` with nothing new"),
    ("replicate_cmd", "`adw replicate` after 1% (command)"),
    ("replicate_engine", "the replication engine alone after 1%"),
    ("floor_build", "Dagster alone, a run shaped like `adw build`"),
    ("floor_replicate", "Dagster alone, a run shaped like `adw replicate`"),
]
RATIOS = [
    ("build_full", "dbt_full", "`adw build` / plain dbt, full"),
    ("build_incr", "dbt_incr", "`adw build` / plain dbt, after 1%"),
    ("floor_build", "dbt_full", "Dagster alone (no work) / plain dbt, full"),
]


class Checkout:
    """One checkout of adw in its own ADW_HOME; runs commands and records seconds."""

    def __init__(self, label: str, path: Path, scale: float) -> None:
        self.label, self.path, self.scale = label, path, scale
        slug = re.sub(r"\W", "_", label)
        self.home = Path(tempfile.mkdtemp(prefix=f"adw-bench-orch-{slug}-"))
        os.chmod(self.home, 0o755)  # the embedded server runs as another OS user when root
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("ADW_", "DAGSTER"))}
        self.env.update(ADW_HOME=str(self.home), PYTHONPATH=str(path), DO_NOT_TRACK="1",
                        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
                        DAGSTER_DISABLE_TELEMETRY="1")  # fmt: skip
        self.figures: dict[str, float] = {}
        self.cpu: dict[str, float] = {}
        """CPU seconds (user + system) of the command and its children: steadier than wall
        seconds on a loaded machine."""
        self.seed = 0
        self.last_cpu = 0.0
        self.last_stdout = ""

    def python(self, *args: str, env: dict | None = None) -> tuple[float, str]:
        cpu, started = _children_cpu(), time.perf_counter()
        done = subprocess.run([sys.executable, *args], cwd=self.path, env=env or self.env,
                              capture_output=True, text=True)  # fmt: skip
        seconds, self.last_cpu = time.perf_counter() - started, _children_cpu() - cpu
        if done.returncode != 0:
            sys.exit(f"{self.label}: {' '.join(args[2:])} failed:\n{done.stderr[-3000:]}")
        return seconds, done.stdout

    def adw(self, key: str | None, *args: str) -> float:
        seconds, self.last_stdout = self.python(*ADW, *args)
        if key:
            self.figures[key], self.cpu[key] = seconds, self.last_cpu
        return seconds

    def models_built(self) -> float:
        """The models and seeds the last `adw build` reported building."""
        found = re.search(r"(\d+) models/seeds built", self.last_stdout)
        return float(found.group(1)) if found else float("nan")

    def changes(self) -> None:
        """1% of the orders as new orders, and as many updates."""
        self.seed += 1
        orders = max(1, round(31_465 * self.scale / 100))
        self.adw(None, "source", "simulate", "--orders", str(orders), "--updates", str(orders),
                 "--seed", str(self.seed))  # fmt: skip

    def plain_dbt(self, key: str, *args: str) -> None:
        """`dbt build` as a user runs it in dbt/, with adw's environment and this home's
        partial parse (what adw's last run left)."""
        env = {**self.env, **json.loads(self.python("-c", DBT_ENV)[1])}
        target = self.home / "plain-dbt"
        target.mkdir(exist_ok=True)
        cached = self.home / "dbt" / "partial_parse.msgpack"
        if cached.exists():
            shutil.copyfile(cached, target / "partial_parse.msgpack")
        dbt = str(Path(sys.executable).parent / "dbt")
        cpu, started = _children_cpu(), time.perf_counter()
        done = subprocess.run([dbt, "build", *args, "--profiles-dir", ".", "--target-path",
                               str(target)], cwd=self.path / "dbt", env=env,
                              capture_output=True, text=True)  # fmt: skip
        self.figures[key] = time.perf_counter() - started
        self.cpu[key] = _children_cpu() - cpu
        if done.returncode != 0:
            sys.exit(f"{self.label}: dbt build failed:\n{done.stdout[-3000:]}")

    def steps(self):
        """The bench, one step per yield (so two checkouts can alternate)."""
        self.python("-c", "from adw_assets.lib.dbt import ensure_manifest; ensure_manifest()")
        yield
        self.adw("up", "up", "--scale", str(self.scale))
        yield
        self.plain_dbt("dbt_full", "--full-refresh")
        yield
        self.adw("build_full", "build", "--full-refresh", "--no-answers")
        yield
        self.changes()
        self.adw(None, "replicate")
        self.plain_dbt("dbt_incr")
        yield
        self.changes()
        self.adw("replicate_incr", "replicate")
        self.adw("build_incr", "build", "--no-answers")
        self.figures["warm_models"] = self.models_built()
        for d in (self.figures, self.cpu):
            d["warm_cycle"] = d["replicate_incr"] + d["build_incr"]
        yield
        self.adw("build_noop", "build", "--no-answers")
        yield
        self.changes()
        self.adw("replicate_cmd", "replicate")
        self.changes()
        self.figures["replicate_engine"] = float(self.python("-c", ENGINE)[1].split()[-1])
        yield
        shape = json.loads(self.python("-c", SHAPES)[1].strip().splitlines()[-1])
        self.floor("floor_build", shape["adw_dbt_models"], shape["dashboard__snapshot"])
        self.floor("floor_replicate", shape["replicated_tables"], shape["replication_checks"])
        yield

    def floor(self, key: str, *steps: str) -> None:
        """Dagster alone: a run of the same assets and checks per step, doing no work."""
        self.figures[key] = self.python(str(REPO / "bench" / "dagster_floor.py"), *steps)[0]
        self.cpu[key] = self.last_cpu

    def close(self) -> None:
        subprocess.run([sys.executable, *ADW, "source", "stop"], cwd=self.path, env=self.env,
                       capture_output=True)  # fmt: skip
        shutil.rmtree(self.home, ignore_errors=True)


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _worktree(ref: str) -> Path:
    path = Path(tempfile.mkdtemp(prefix="adw-bench-ref-"))
    subprocess.run(["git", "worktree", "add", "--detach", str(path), ref], cwd=REPO,
                   check=True, capture_output=True)  # fmt: skip
    return path


def report(checkouts: list[Checkout]) -> None:
    def cell(c: Checkout, key: str) -> str:
        cpu = f"({c.cpu[key]:.1f})" if key in c.cpu else ""
        return f"{c.figures.get(key, float('nan')):8.1f} {cpu:>8}"

    print(f"\n{'wall seconds (CPU seconds), each command a new process':<52}"
          + "".join(f"{c.label:>17}" for c in checkouts))  # fmt: skip
    for key, title in ROWS:
        print(f"{title:<52}" + "".join(f"{cell(c, key):>17}" for c in checkouts))
    for a, b, title in RATIOS:
        ratios = [
            f"{c.figures[a] / c.figures[b]:.2f}x ({c.cpu[a] / c.cpu[b]:.2f}x)" for c in checkouts
        ]
        print(f"{title:<52}" + "".join(f"{r:>17}" for r in ratios))
    over = [c.figures["replicate_cmd"] - c.figures["replicate_engine"] for c in checkouts]
    print(
        f"{'`adw replicate` over the engine, wall':<52}" + "".join(f"{o:8.1f}{'':9}" for o in over)
    )
    if len(checkouts) == 2:
        before, after = checkouts
        print(f"\n{after.label} / {before.label}, wall (CPU):")
        for key, title in ROWS:
            cpu = (f" ({after.cpu[key] / before.cpu[key]:.2f}x)"
                   if key in after.cpu and key in before.cpu else "")  # fmt: skip
            print(f"  {title:<50} {after.figures[key] / before.figures[key]:6.2f}x{cpu}")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=1.0, help="synthetic data scale")
    parser.add_argument("--against", metavar="REF", help="also run this git commit, alternating")
    args = parser.parse_args(argv)
    paths = {"this": REPO}
    if args.against:
        paths = {args.against: _worktree(args.against), **paths}
    checkouts = [Checkout(label, path, args.scale) for label, path in paths.items()]
    print(f"scale {args.scale:g}, {os.cpu_count()} cores, load average at start "
          f"{os.getloadavg()[0]:.2f}", flush=True)  # fmt: skip
    try:
        runs = [c.steps() for c in checkouts]
        for _ in runs[0]:
            for more in runs[1:]:
                next(more)
            print(f"  ... {', '.join(f'{k} {v:.1f}' for k, v in checkouts[-1].figures.items())}",
                  flush=True)  # fmt: skip
        report(checkouts)
        print(f"\nload average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    finally:
        for c in checkouts:
            c.close()
        if args.against:
            subprocess.run(["git", "worktree", "remove", "--force", str(paths[args.against])],
                           cwd=REPO, capture_output=True)  # fmt: skip


if __name__ == "__main__":
    main()
