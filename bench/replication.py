"""Benchmark of the embedded replicator against dlt and DuckDB's postgres reader, side by side.

    .venv/bin/python bench/replication.py [--no-compare] [--no-scale10] [--synthetic]
                                          [--workdir DIR]

Data: the real AdventureWorks CSVs (../shared/adventureworks) when present (and no
``--synthetic``), else synthetic scale 1; plus synthetic scale 10. Cases: full sync,
incremental after 1% of rows changed, no-op. Each case runs in its own process (peak memory =
that process's VmHWM). The comparison tools (dlt with the sql_database source and pyarrow
backend; duckdb 1.5.5 with its postgres reader) never enter the app venv: they live in
``.venv-bench`` (created on first run). Dagster's start-up and ``adw replicate`` through the
CLI are timed apart. Figures, not pass/fail.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REAL_DATA = REPO.parent / "shared" / "adventureworks"
BENCH_VENV = REPO / ".venv-bench"
# the group `bench` of pyproject.toml, locked (`make lock`)
BENCH_LOCK = REPO / "requirements" / "bench.txt"
QUIET_ENV = {
    "DO_NOT_TRACK": "1",
    "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    "DAGSTER_DISABLE_TELEMETRY": "1",
    "RUNTIME__DLTHUB_TELEMETRY": "false",
}

FLOOR = r"""
import json, os, sys, time
def peak_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
import duckdb, duckdb_extension_postgres_scanner as ext
libpq, path, tables = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
ext_path = os.path.join(os.path.dirname(ext.__file__), "extensions", "v1.5.5",
                        "postgres_scanner.duckdb_extension")
t = time.perf_counter()
con = duckdb.connect(path)
con.execute(f"load '{ext_path}'")
con.execute(f"attach '{libpq}' as pg (type postgres, read_only)")
rows = 0
for schema, table, _ in tables:
    con.execute(f"create schema if not exists {schema}")
    con.execute(f"create or replace table {schema}.{table} as select * from pg.{schema}.{table}")
    rows += con.execute(f"select count(*) from {schema}.{table}").fetchone()[0]
con.close()
print(json.dumps({"seconds": time.perf_counter() - t, "rows": rows,
                  "peak_mb": peak_mb()}))
"""

DLT = r"""
import json, sys, time
def peak_mb():
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
import dlt
from dlt.sources.sql_database import sql_table
url, pipelines_dir, path, tables = sys.argv[1], sys.argv[2], sys.argv[3], json.loads(sys.argv[4])
t = time.perf_counter()
pipeline = dlt.pipeline(pipeline_name="bench", destination=dlt.destinations.duckdb(path),
                        dataset_name="dlt_raw", pipelines_dir=pipelines_dir)
resources = []
for schema, table, pk in tables:
    r = sql_table(credentials=url, table=table, schema=schema, backend="pyarrow",
                  incremental=dlt.sources.incremental("modifieddate"))
    r.apply_hints(primary_key=pk, write_disposition="merge")
    resources.append(r.with_name(f"{schema}__{table}"))
pipeline.run(resources)
trace = pipeline.last_trace
rows = sum(sum(i.row_counts.values()) for i in [trace.last_normalize_info] if i)
print(json.dumps({"seconds": time.perf_counter() - t, "rows": rows,
                  "peak_mb": peak_mb()}))
"""


def peak_mb() -> float:
    """Peak RSS of this process image (``ru_maxrss`` is inherited across fork + exec)."""
    with open("/proc/self/status") as status:
        return next(int(x.split()[1]) for x in status if x.startswith("VmHWM:")) / 1024


def child_adw(dsn: str, path: str, full: bool, raw_history: bool = False) -> None:
    """Runs in a child process: one engine run, timed without interpreter start-up."""
    from adw_assets.lib.replication import DuckDBDestination, replicate

    t = time.perf_counter()
    result = replicate(dsn, DuckDBDestination(Path(path)), full_refresh=full,
                       raw_history=raw_history)  # fmt: skip
    result.raise_for_failures()
    print(json.dumps({
        "seconds": time.perf_counter() - t,
        "rows": result.rows_read,
        "changed": sum(s.rows_inserted + s.rows_updated for s in result.streams),
        "peak_mb": peak_mb(),
    }))  # fmt: skip


def run_json(cmd: list[str], env: dict | None = None) -> dict:
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, **QUIET_ENV,
                          **(env or {})})  # fmt: skip
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[:3]} failed:\n{proc.stderr[-3000:]}")
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    out["wall"] = time.perf_counter() - started
    return out


def ensure_bench_venv() -> Path:
    python = BENCH_VENV / "bin" / "python"
    stamp = BENCH_VENV / ".bench-installed"
    lock = BENCH_LOCK.read_text()
    if not stamp.exists() or stamp.read_text() != lock:
        print(f"creating {BENCH_VENV} from {BENCH_LOCK.name} (dlt, duckdb 1.5.5 + postgres "
              "reader) ...", file=sys.stderr)  # fmt: skip
        sync = [str(REPO / ".ci" / "sync-env.sh"), str(BENCH_VENV), str(BENCH_LOCK)]
        subprocess.run(["bash", *sync], check=True, env={**os.environ, "PYTHON": sys.executable})
        stamp.write_text(lock)
    return python


def libpq(dsn: str) -> str:
    from urllib.parse import parse_qs, urlsplit

    u = urlsplit(dsn)
    return f"host={parse_qs(u.query)['host'][0]} dbname={u.path[1:]} user={u.username}"


def sqlalchemy_url(dsn: str) -> str:
    return dsn.replace("postgresql://", "postgresql+psycopg2://").replace(":@", "@")


def settle(owner_dsn: str) -> None:
    """VACUUM ANALYZE after the bulk load, as autovacuum would: the first scan of freshly
    loaded rows writes their hint bits, which would slow whichever tool happens to run first
    (the adw case runs before the floor and dlt)."""
    import psycopg

    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        conn.execute("vacuum analyze")


def change_rows(owner_dsn: str, counts: dict[str, int], newest: int | None = None) -> int:
    """Bump modifieddate (and so the content) of ``counts[table]`` random rows per table: drawn
    from the whole table (spread over all of it), or from its ``newest`` rows by primary key
    (as an OLTP database's updates mostly are: orders in flight, new customers)."""
    import psycopg

    from adw_assets.lib.source.catalog import TABLES_BY_NAME

    with psycopg.connect(owner_dsn) as conn:
        conn.execute("select setseed(0.42)")
        for table, n in counts.items():
            rows = table
            if newest:
                key = ", ".join(f"{c} desc" for c in TABLES_BY_NAME[table].primary_key)
                rows = f"(select ctid from {table} order by {key} limit {newest}) newest"
            conn.execute(
                f"update {table} set modifieddate = clock_timestamp() where ctid in "
                f"(select ctid from {rows} order by random() limit {n})"
            )
        conn.commit()
    return sum(counts.values())


class Bench:
    def __init__(self, workdir: Path, compare: bool) -> None:
        self.workdir, self.compare, self.rows = workdir, compare, []
        self.bench_python = ensure_bench_venv() if compare else None

    def add(self, label: str, r: dict, floor: dict | None = None, dlt: dict | None = None):
        ratio = lambda o: f"{r['seconds'] / o['seconds']:.2f}x" if o else "-"  # noqa: E731
        rate = r["rows"] / r["seconds"] if r["seconds"] else 0
        self.rows.append((label, f"{r['seconds']:.2f}", f"{r['rows']:,}", f"{rate:,.0f}",
                          f"{r['peak_mb']:.0f}", ratio(floor), ratio(dlt)))  # fmt: skip
        print(f"  {label}: {r['seconds']:.2f} s, peak {r['peak_mb']:.0f} MB", file=sys.stderr)

    def adw(self, dsn: str, path: Path, full: bool = False, raw: bool = False) -> dict:
        flags = ["--full"] * full + ["--raw-history"] * raw
        return run_json([sys.executable, __file__, "--child", dsn, str(path), *flags])

    def dataset(self, label: str, owner: str, repl: str, changes: dict[str, int]) -> dict:
        from adw_assets.lib.source.catalog import TABLES

        tables = json.dumps([[t.schema, t.name, list(t.primary_key)] for t in TABLES])
        wh = self.workdir / f"{label}.duckdb"
        full = self.adw(repl, wh)
        floor = dlt = dlt_inc = dlt_noop = None
        if self.compare:
            floor = run_json([str(self.bench_python), "-c", FLOOR, libpq(repl),
                              str(self.workdir / f"{label}-floor.duckdb"), tables])  # fmt: skip
            dlt_dir = self.workdir / f"{label}-dlt"
            # dlt as the owner: its pool opens more connections than the replication role's
            # limit (2 workers x 2 range readers + 3) allows
            dlt_args = [str(self.bench_python), "-c", DLT, sqlalchemy_url(owner), str(dlt_dir),
                        f"{dlt_dir}.duckdb", tables]  # fmt: skip
            dlt = run_json(dlt_args)
            self.add(f"{label} full: duckdb postgres reader (floor)", floor)
            self.add(f"{label} full: dlt sql_database pyarrow", dlt, floor)
        self.add(f"{label} full: adw replicator", full, floor, dlt)
        with_raw = self.adw(repl, self.workdir / f"{label}-raw.duckdb", raw=True)
        self.add(f"{label} full: adw, with the raw history", with_raw, floor, dlt)
        # a first no-op re-reads the rows tied at the saved cursor (>=) and the lag window
        settle = self.adw(repl, wh)
        self.add(f"{label} no-op right after the full sync: adw", settle)
        if self.compare:
            run_json(dlt_args)
        change_rows(owner, changes)
        inc = self.adw(repl, wh)
        if self.compare:
            dlt_inc = run_json(dlt_args)
            self.add(f"{label} 1% incremental: dlt", dlt_inc)
        self.add(f"{label} 1% incremental: adw ({inc['changed']:,} rows changed)", inc, None,
                 dlt_inc)  # fmt: skip
        noop = self.adw(repl, wh)
        if self.compare:
            dlt_noop = run_json(dlt_args)
            self.add(f"{label} no-op: dlt", dlt_noop)
        self.add(f"{label} no-op: adw", noop, None, dlt_noop)
        return {"full": full, "inc": inc, "noop": noop}

    def dagster(self, owner: str, repl: str) -> None:
        home = self.workdir / "home"
        env = {"ADW_HOME": str(home), "ADW_SOURCE_DSN": owner, "ADW_REPLICATION_DSN": repl}
        code = (
            "import json, time; t = time.perf_counter(); import dagster; "
            "from adw_assets.definitions import build_definitions; "
            "build_definitions().resolve_all_job_defs(); "
            "print(json.dumps({'seconds': time.perf_counter() - t}))"
        )
        startup = run_json([sys.executable, "-c", code], env)
        adw = str(Path(sys.executable).with_name("adw"))
        for label in ("full", "no-op"):
            t = time.perf_counter()
            proc = subprocess.run([adw, "replicate"], capture_output=True, text=True,
                                  env={**os.environ, **QUIET_ENV, **env})  # fmt: skip
            if proc.returncode != 0:
                raise SystemExit(f"adw replicate failed:\n{proc.stderr[-3000:]}")
            wall = time.perf_counter() - t
            self.rows.append((f"adw replicate CLI ({label}), whole command", f"{wall:.2f}",
                              "", "", "", "", ""))  # fmt: skip
        self.rows.append(("Dagster start-up (import + definitions)", f"{startup['seconds']:.2f}",
                          "", "", "", "", ""))  # fmt: skip

    def print(self) -> None:
        headers = ("case", "seconds", "rows", "rows/s", "peak MB", "vs floor", "vs dlt")
        cells = [headers, *self.rows]
        widths = [max(len(str(r[i])) for r in cells) for i in range(len(headers))]
        for n, r in enumerate(cells):
            print("  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                            for i, (c, w) in enumerate(zip(r, widths, strict=True))))  # fmt: skip
            if n == 0:
                print("  ".join("-" * w for w in widths))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--no-compare", action="store_true", help="skip dlt and the postgres reader")
    ap.add_argument("--no-scale10", action="store_true", help="skip synthetic scale 10")
    ap.add_argument("--synthetic", action="store_true", help="synthetic scale 1, not real data")
    ap.add_argument("--workdir", type=Path, help="keep the databases here (default: temp dir)")
    args = ap.parse_args()
    for k, v in QUIET_ENV.items():
        os.environ.setdefault(k, v)
    import pgserver
    import psycopg

    from adw_assets.lib.source.catalog import TABLES
    from adw_assets.lib.source.load import load_directory
    from adw_assets.lib.source.seed import seed_database
    from adw_assets.lib.source.server import dsn_with_user, ensure_schema, with_database
    from adw_assets.settings import REPLICATION_ROLE

    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="adw-bench-"))
    workdir.mkdir(parents=True, exist_ok=True)
    os.chmod(workdir, 0o755)  # pgserver runs postgres as its own user when we are root
    server = pgserver.get_server(workdir / "pg", cleanup_mode="stop")
    bench = Bench(workdir, compare=not args.no_compare)
    say = lambda m: print(m, file=sys.stderr)  # noqa: E731

    def database(name: str) -> tuple[str, str]:
        with psycopg.connect(server.get_uri("postgres"), autocommit=True) as conn:
            conn.execute(f"drop database if exists {name}")
            conn.execute(f"create database {name}")
        owner = with_database(server.get_uri("postgres"), name)
        ensure_schema(owner)
        return owner, dsn_with_user(owner, REPLICATION_ROLE)

    owner, repl = database("bench1")
    if not args.synthetic and (REAL_DATA / "sales.salesorderheader.csv").exists():
        say(f"loading the real AdventureWorks from {REAL_DATA}")
        counts, label = load_directory(owner, REAL_DATA), "real"
    else:
        say("seeding synthetic scale 1")
        counts, label = seed_database(owner, scale=1.0, seed=1, progress=say), "scale1"
    settle(owner)
    changes = {t: max(1, n // 100) for t, n in counts.items()}
    say(f"{sum(counts.values()):,} rows; {sum(changes.values()):,} changed per incremental")
    small = bench.dataset(label, owner, repl, changes)
    if not args.no_scale10:
        owner10, repl10 = database("bench10")
        say("seeding synthetic scale 10 ...")
        seed_database(owner10, scale=10.0, seed=1, progress=lambda m: None)
        settle(owner10)
        big = bench.dataset("scale10", owner10, repl10, changes)
        for case, what in (("inc", "1% incremental"), ("noop", "re-read of the changed rows")):
            growth = big[case]["seconds"] / small[case]["seconds"]
            bench.rows.append((f"{what}, scale 10 / {label} (same changes)", f"{growth:.2f}x",
                               "", "", "", "", ""))  # fmt: skip
    bench.dagster(owner, repl)
    bench.print()
    print(f"\nworkdir: {workdir} ({len(TABLES)} tables)", file=sys.stderr)
    server.cleanup()


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child_adw(sys.argv[2], sys.argv[3], "--full" in sys.argv, "--raw-history" in sys.argv)
    else:
        main()
