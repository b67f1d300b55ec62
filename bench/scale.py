"""The cost curve: each step's time, rows/s and peak memory at scales 1, 10 (and 100).

    .venv/bin/python bench/scale.py                     # scales 1 and 10
    .venv/bin/python bench/scale.py --scales 1 10 100   # ~23M rows at 100: allow an hour or two
    .venv/bin/python bench/scale.py --scales 10 --single-copy   # also one COPY per table

For each scale, in its own ADW_HOME (embedded PostgreSQL, DuckDB warehouse): seed (progress on
stderr) -> full sync, beside DuckDB's postgres reader (the floor, from ``.venv-bench``: see
bench/replication.py) and a full sync that also writes the raw history
(``ADW_REPLICATION_RAW_HISTORY=true``, into a file of its own) in the same run -> incremental
after 10,000 changed rows drawn from the whole tables, then after 10,000 changes to recent rows
(:data:`RECENT`) -> dbt full build -> incremental build after 1% changes (new orders and
updates of 1% of the orders, replicated first) -> dashboard snapshot. Each step runs in its
own process; its peak memory is that process's VmHWM or its largest child's (dbt), whichever is
larger. PostgreSQL's own memory is not counted. Figures, not pass/fail: the bounds of issue 19
are printed beside them.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

BENCH = Path(__file__).resolve().parent
# bench/replication.py (the floor, the changes), loaded by path: bench/ is not a package
_spec = importlib.util.spec_from_file_location("replication_bench", BENCH / "replication.py")
replication_bench = importlib.util.module_from_spec(_spec)
sys.modules["replication_bench"] = replication_bench
_spec.loader.exec_module(replication_bench)

TODAY = date(2026, 1, 15)
CHANGES_10K = {  # 10,000 rows changed before the incremental sync, the same at every scale
    "sales.salesorderdetail": 5000,
    "sales.salesorderheader": 2500,
    "sales.customer": 1000,
    "person.person": 1000,
    "person.address": 500,
}
RECENT = 50_000
"""``inc_recent``: the changed rows are drawn from each table's newest 50,000 by primary key
(the whole table at scale 1 but for the order lines): where an OLTP database's updates fall.
``inc`` draws them from the whole table, the columnar merge's worst case."""
STEPS = ("seed", "full", "floor", "full_raw", "full_single", "inc", "inc_recent", "dbt_full",
         "dbt_inc", "snapshot")  # fmt: skip
LABELS = {
    "seed": "seed",
    "full": "full sync (adw, range reads)",
    "full_raw": "full sync with the raw history",
    "full_single": "full sync, one COPY per table",
    "floor": "full sync: DuckDB postgres reader (floor)",
    "inc": "incremental after 10,000 changed rows",
    "inc_recent": "incremental after 10,000 changes to recent rows",
    "replicate_1pct": "replicate after 1% changes",
    "dbt_full": "dbt build --full-refresh",
    "dbt_inc": "dbt build after 1% changes",
    "snapshot": "dashboard snapshot",
}


def _peak_mb() -> float:
    with open("/proc/self/status") as status:
        own = next(int(x.split()[1]) for x in status if x.startswith("VmHWM:")) / 1024
    return max(own, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024)


def _settings(home: Path, overrides: dict[str, str] | None = None):
    from adw_assets.settings import get_settings

    for name in [n for n in os.environ if n.startswith("ADW_")]:
        del os.environ[name]
    os.environ.update(overrides or {})
    os.environ["ADW_HOME"] = str(home)
    get_settings.cache_clear()
    settings = get_settings()
    settings.ensure_dirs()
    return settings


def _say(message: str) -> None:
    print(f"    {message}", file=sys.stderr, flush=True)


def _replicate(settings, **kwargs) -> int:
    from adw_assets.lib.replication import replicate_from_settings

    result = replicate_from_settings(settings, **kwargs)
    result.raise_for_failures()
    return result.rows_read


def child(step: str, home: Path, scale: float, overrides: dict[str, str]) -> dict:
    """One step, in this process; returns ``{"seconds", "rows", ...}`` (timed around the work
    only, not the interpreter's start)."""
    from adw_assets.lib.source import server

    settings = _settings(home, overrides)
    owner = server.source_dsn(settings)
    repl = server.replication_dsn(settings)
    target = home / "dbt-target"
    out: dict = {}
    seconds = None  # a step that cleans up after its work sets it before
    t = time.perf_counter()
    if step == "seed":
        from adw_assets.lib.source.seed import seed_database

        counts = seed_database(owner, scale=scale, seed=1, today=TODAY, progress=_say)
        out["rows"] = sum(counts.values())
        out["orders"] = counts["sales.salesorderheader"]
        seconds = time.perf_counter() - t
        replication_bench.settle(owner)  # VACUUM ANALYZE, as autovacuum would: not timed
    elif step == "full":
        out["rows"] = _replicate(settings, full_refresh=True)
    elif step in ("full_single", "full_raw"):  # into a file of its own, then removed
        from adw_assets.lib.replication import DuckDBDestination

        other = home / f"{step}.duckdb"
        variant = {"range_readers": 1} if step == "full_single" else {"raw_history": True}
        out["rows"] = _replicate(settings, full_refresh=True, destination=DuckDBDestination(
            other, memory_limit=settings.replication_memory_limit), **variant)  # fmt: skip
        seconds = time.perf_counter() - t
        other.unlink()
    elif step == "settle":  # the no-op right after a full sync (re-reads the cursor's ties)
        out["rows"] = _replicate(settings)
    elif step in ("change_10k", "change_10k_recent"):
        newest = RECENT if step == "change_10k_recent" else None
        out["rows"] = replication_bench.change_rows(owner, CHANGES_10K, newest)
    elif step in ("inc", "inc_recent", "replicate_1pct"):
        out["rows"] = _replicate(settings)
    elif step == "change_1pct":
        from adw_assets.lib.source.simulate import simulate

        with _pg(owner) as conn:
            orders = conn.execute("select count(*) from sales.salesorderheader").fetchone()[0]
        n = max(1, orders // 100)
        simulate(owner, orders=n, updates=n, seed=1, progress=lambda _m: None)
        out["rows"] = 2 * n
    elif step in ("dbt_full", "dbt_inc"):
        from adw_assets.lib.dbt import run_dbt

        args = ["build", "--full-refresh"] if step == "dbt_full" else ["build"]
        run_dbt(args, settings=settings, target_path=target)
        seconds = time.perf_counter() - t
        results = json.loads((target / "run_results.json").read_text())
        out["dbt_elapsed"] = results["elapsed_time"]
        out["rows"] = _replicated_rows(settings.duckdb_path)  # the rows the build covers
    elif step == "snapshot":
        from adw_assets.lib.serving import dashboard_marts, export_snapshot, serving_dir
        from adw_assets.lib.warehouse.interface import DuckDBWarehouse

        manifest = json.loads((target / "manifest.json").read_text())
        wh = DuckDBWarehouse(settings.duckdb_path)
        try:
            exported = export_snapshot(wh, dashboard_marts(manifest), serving_dir(settings),
                                       target / "semantic_manifest.json")  # fmt: skip
        finally:
            wh.con.close()
        out["rows"] = sum(m["rows"] for m in exported["marts"].values())
    elif step == "floor":
        from adw_assets.lib.source.catalog import TABLES

        python = replication_bench.ensure_bench_venv()
        tables = json.dumps([[x.schema, x.name, list(x.primary_key)] for x in TABLES])
        floor_db = home / "floor.duckdb"
        dsn = replication_bench.libpq(repl)
        floor = replication_bench.run_json(
            [str(python), "-c", replication_bench.FLOOR, dsn, str(floor_db), tables]
        )
        floor_db.unlink(missing_ok=True)
        return {"seconds": floor["seconds"], "rows": floor["rows"], "peak_mb": floor["peak_mb"]}
    else:
        raise SystemExit(f"unknown step {step!r}")
    out["seconds"] = time.perf_counter() - t if seconds is None else seconds
    out["peak_mb"] = _peak_mb()
    return out


def _replicated_rows(path: Path) -> int:
    from adw_assets.lib.source.catalog import TABLES
    from adw_assets.lib.warehouse import connect_to_read

    con = connect_to_read(path)
    try:
        counts = " + ".join(f"(select count(*) from raw_{x.schema}.{x.name})" for x in TABLES)
        return con.execute(f"select {counts}").fetchall()[0][0]
    finally:
        con.close()


def _pg(dsn: str):
    import psycopg

    return psycopg.connect(dsn)


SETTINGS: dict[str, str] = {}
"""``--set ADW_X=V``: settings every step runs with (the bench clears the shell's ADW_*)."""


def run_step(step: str, home: Path, scale: float) -> dict:
    print(f"  scale {scale:g}: {step} ...", file=sys.stderr, flush=True)
    started = time.perf_counter()
    sets = [f"{k}={v}" for k, v in SETTINGS.items()]
    proc = subprocess.run(
        [sys.executable, __file__, "--child", step, str(home), str(scale), *sets],
        stdout=subprocess.PIPE, text=True,
        env={**os.environ, **replication_bench.QUIET_ENV, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"step {step} at scale {scale:g} failed (exit {proc.returncode})")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["wall"] = time.perf_counter() - started
    rate = out["rows"] / out["seconds"] if out["seconds"] else 0
    line = f"{out['seconds']:.2f} s, {out['rows']:,} rows ({rate:,.0f}/s)"
    print(f"  scale {scale:g}: {step}: {line}, peak {out['peak_mb']:.0f} MB", file=sys.stderr)
    return out


ORDER = ("seed", "full", "floor", "full_raw", "full_single", "settle", "change_10k", "inc",
         "change_10k_recent", "inc_recent", "dbt_full", "change_1pct", "replicate_1pct",
         "dbt_inc", "snapshot")  # fmt: skip
UNREPORTED = ("settle", "change_10k", "change_10k_recent", "change_1pct")
"""Steps that prepare the next one: run, printed, not in the table."""


def bench_scale(scale: float, workdir: Path, single: bool, figures: dict,
                resume_at: str | None = None) -> dict[str, dict]:  # fmt: skip
    home = workdir / f"scale{scale:g}"
    if resume_at is None:
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
    os.chmod(home, 0o755)  # the embedded server runs as another OS user when root
    steps = ORDER[ORDER.index(resume_at) :] if resume_at else ORDER
    try:
        for step in steps:
            if step == "full_single" and not single:
                continue
            out = run_step(step, home, scale)
            if step not in UNREPORTED:
                figures[step] = out
        figures["disk"] = {"warehouse_mb": (home / "warehouse.duckdb").stat().st_size / 2**20}
    finally:
        from adw_assets.lib.source import server

        server.stop_embedded(_settings(home))
    return figures


class Figures(dict):
    """One scale's figures, written to ``--json`` after each step (a long run keeps what
    it measured)."""

    def __init__(self, path: Path | None, results: dict) -> None:
        super().__init__()
        self.path, self.results = path, results

    def __setitem__(self, key, value) -> None:
        super().__setitem__(key, value)
        if self.path:
            data = {str(k): dict(v) for k, v in self.results.items()}
            self.path.write_text(json.dumps(data, indent=1))


BOUNDS = {  # issue 19
    ("full", "floor", 10): 1.3,
    ("full", "floor", 100): 1.5,
    ("inc", 1, 100): 1.5,
    ("inc_recent", 1, 100): 1.5,
    ("dbt_full", 1, 100): 15.0,
    ("dbt_inc", 1, 100): 3.0,
}


def table(results: dict[float, dict[str, dict]]) -> str:
    headers = ("step", "scale", "seconds", "rows", "rows/s", "peak MB", "vs scale 1", "vs floor")
    rows = []
    base = results.get(1.0, {})
    for step in [*STEPS[:7], "replicate_1pct", "dbt_full", "dbt_inc", "snapshot"]:
        for scale, figures in results.items():
            f = figures.get(step)
            if not f:
                continue
            rate = f["rows"] / f["seconds"] if f["seconds"] else 0
            vs1 = f"{f['seconds'] / base[step]['seconds']:.2f}x" if step in base else ""
            bound = BOUNDS.get((step, 1, int(scale)))
            vs1 += f" (<= {bound:g}x)" if bound and vs1 else ""
            vsf = ""
            if step.startswith("full") and "floor" in figures:
                vsf = f"{f['seconds'] / figures['floor']['seconds']:.2f}x"
                bound = BOUNDS.get(("full", "floor", int(scale)))
                vsf += f" (<= {bound:g}x)" if bound and step == "full" else ""
            rows.append((LABELS[step], f"{scale:g}", f"{f['seconds']:.2f}", f"{f['rows']:,}",
                         f"{rate:,.0f}", f"{f['peak_mb']:.0f}", vs1, vsf))  # fmt: skip
    cells = [headers, *rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |"
             for r in cells]  # fmt: skip
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    disks = ", ".join(f"scale {s:g} {f['disk']['warehouse_mb']:,.0f} MB"
                      for s, f in results.items() if "disk" in f)  # fmt: skip
    return "\n".join(lines) + f"\n\nwarehouse file: {disks}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--scales", type=float, nargs="+", default=[1.0, 10.0])
    ap.add_argument("--single-copy", action="store_true",
                    help="also a full sync with one COPY per table (range readers 1)")  # fmt: skip
    ap.add_argument("--workdir", type=Path, help="keep the homes here (default: a temp dir)")
    ap.add_argument("--json", type=Path, help="also write the figures to this file")
    ap.add_argument("--table", type=Path, help="only print the table of a --json file")
    ap.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="ADW_X=V",
        help="a setting every step runs with, e.g. ADW_REPLICATION_MEMORY_LIMIT=1GB",
    )
    ap.add_argument("--resume-at", choices=ORDER,
                    help="go on in the existing homes of --workdir from this step")  # fmt: skip
    args = ap.parse_args()
    if args.table:
        saved = json.loads(args.table.read_text())
        print(table({float(k): v for k, v in saved.items()}))
        return
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="adw-scale-"))
    workdir.mkdir(parents=True, exist_ok=True)
    os.chmod(workdir, 0o755)
    SETTINGS.update(item.split("=", 1) for item in args.set)
    results = {}
    for scale in args.scales:
        started = time.perf_counter()
        results[scale] = Figures(args.json, results)
        bench_scale(scale, workdir, args.single_copy, results[scale], args.resume_at)
        print(f"scale {scale:g}: {time.perf_counter() - started:.0f} s in all", file=sys.stderr)
    print(table(results))
    if not args.workdir:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        sets = dict(item.split("=", 1) for item in sys.argv[5:])
        print(json.dumps(child(sys.argv[2], Path(sys.argv[3]), float(sys.argv[4]), sets)))
    else:
        main()
