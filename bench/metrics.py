"""Benchmark `adw metrics query`: one metric by one dimension on scale 1, as a whole command,
the time MetricFlow adds over running its SQL directly, and `mf query` from dbt/ beside it.

    .venv/bin/python bench/metrics.py                   # a fresh home: adw up --scale 1 first
    .venv/bin/python bench/metrics.py --home .adw       # a warehouse adw up/build made

Figures (median of --runs, after one warm-up run that also prepares the semantic manifest):
* `adw metrics query --metrics revenue --group-by product__category_name`, whole command;
* in process: loading MetricFlow's engine over the semantic manifest, compiling the SQL
  (`explain`), and running that SQL on the read-only warehouse, side by side;
* the same SQL run directly by a Python process (start-up, DuckDB, the query), and
  `mf query` with the same metric and dimension from a copy of dbt/ (whole command).
Bound (issue 17): the adw command under 3 s on 2 cores. Not pass/fail: it prints figures.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
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
METRIC, DIMENSION = "revenue", "product__category_name"


def _env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADW_")}
    return env | {"ADW_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}


CPU: list[float] = []
"""CPU seconds (user + system) of each command :func:`_run` ran, in order."""


def _run(command: list[str], env: dict, cwd: Path | None = None) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    done = subprocess.run(command, env=env, cwd=cwd, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU.append(after.ru_utime - before.ru_utime + after.ru_stime - before.ru_stime)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return seconds


def _median(runs: int, fn) -> float:
    """Median wall seconds of ``runs`` calls after a warm-up; :data:`LAST_CPU` their median
    CPU seconds."""
    global LAST_CPU
    fn()  # warm-up: the OS cache, the semantic manifest
    walls = [fn() for _ in range(runs)]
    LAST_CPU = statistics.median(CPU[-runs:])
    return statistics.median(walls)


LAST_CPU = 0.0


def _in_process(home: Path, runs: int) -> tuple[float, float, float]:
    """Median seconds of: engine load, explain, running the SQL."""
    os.environ.update(_env(home))
    from adw_assets.lib.metrics import NO_PARAMETERS, SemanticLayer
    from adw_assets.settings import get_settings

    get_settings.cache_clear()
    settings = get_settings()
    loads, explains, queries = [], [], []
    for _ in range(runs + 1):
        t0 = time.perf_counter()
        layer = SemanticLayer.for_settings(settings)
        t1 = time.perf_counter()
        sql = layer.explain(layer.request([METRIC], [DIMENSION]))
        t2 = time.perf_counter()
        layer.client.fetch(sql, NO_PARAMETERS)
        t3 = time.perf_counter()
        loads.append(t1 - t0), explains.append(t2 - t1), queries.append(t3 - t2)
    return tuple(statistics.median(x[1:]) for x in (loads, explains, queries))  # type: ignore[return-value]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, help="an ADW_HOME with a built warehouse")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    scratch = Path(tempfile.mkdtemp(prefix="adw-bench-metrics-"))
    home = args.home.resolve() if args.home else scratch / "home"
    env = _env(home)
    try:
        if args.home is None:
            print("adw up --scale 1 in a fresh home ...", flush=True)
            _run([str(BIN / "adw"), "up", "--scale", "1", "--events", "2000"], env)
        adw = [str(BIN / "adw"), "metrics", "query", "--metrics", METRIC, "--group-by", DIMENSION]
        first = _run(adw, env)  # prepares the semantic manifest (dbt parse) when missing
        command = _median(args.runs, lambda: _run(adw, env))
        command_cpu = LAST_CPU
        load, explain, query = _in_process(home, args.runs)

        from adw_assets.lib.metrics import SemanticLayer
        from adw_assets.settings import get_settings

        layer = SemanticLayer.for_settings(get_settings())
        sql = layer.explain(layer.request([METRIC], [DIMENSION]))
        script = (
            "import duckdb,sys; c=duckdb.connect(sys.argv[1], read_only=True); "
            "c.execute(sys.argv[2]).fetchall()"
        )
        direct = _median(
            args.runs,
            lambda: _run([sys.executable, "-c", script, str(home / "warehouse.duckdb"), sql], env),
        )
        direct_cpu = LAST_CPU
        mf = _mf_query(home, scratch, args.runs)
        mf_cpu = LAST_CPU
    finally:
        if args.home is None:
            subprocess.run([str(BIN / "adw"), "source", "stop"], env=env, capture_output=True)
        shutil.rmtree(scratch, ignore_errors=True)

    print(f"\n{METRIC} by {DIMENSION}, scale 1, median of {args.runs} runs")
    print(f"  (CPU seconds, median: adw {command_cpu:.2f}, the SQL alone {direct_cpu:.2f}, "
          f"mf {mf_cpu:.2f}; load average {os.getloadavg()[0]:.1f})")  # fmt: skip
    rows = [
        ("adw metrics query (whole command)", command),
        ("  first run (dbt parse of the semantic manifest)", first),
        ("  in process: MetricFlow engine load", load),
        ("  in process: MetricFlow compiles the SQL (explain)", explain),
        ("  in process: the SQL on the warehouse", query),
        ("  MetricFlow's share (load + explain)", load + explain),
        ("the SQL alone as a command (python -c duckdb)", direct),
        ("mf query from dbt/ (whole command)", mf),
    ]
    for label, seconds in rows:
        print(f"  {label:<52} {seconds:6.2f} s")
    print(f"  {'adw over the SQL alone (whole commands)':<52} {command - direct:+6.2f} s")


def _mf_query(home: Path, scratch: Path, runs: int) -> float:
    """`mf query` as docs/dbt.md runs it, from a copy of dbt/ holding the semantic manifest."""
    from adw_assets.lib.dbt import dbt_env, project_dir
    from adw_assets.settings import get_settings

    project = scratch / "dbt"
    shutil.copytree(project_dir(), project, ignore=shutil.ignore_patterns("target", "logs"))
    (project / "target").mkdir()
    manifest = home / "dbt" / "semantic" / "local" / "semantic_manifest.json"
    shutil.copy(manifest, project / "target")
    private_tmp = scratch / "tmp"
    private_tmp.mkdir(mode=0o700)
    env = os.environ | dbt_env(get_settings()) | {
        "DBT_PROFILES_DIR": str(project),
        "TMPDIR": str(private_tmp),  # mf caches its PyPI version check there
        "HTTPS_PROXY": "http://127.0.0.1:9",  # and no call out
    }  # fmt: skip
    mf = [str(BIN / "mf"), "query", "--metrics", METRIC, "--group-by", DIMENSION]
    return _median(runs, lambda: _run(mf, env, cwd=project))


if __name__ == "__main__":
    main()
