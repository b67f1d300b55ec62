"""End-to-end bound of continuous CDC (issue 18): a new order committed in the source shows in
``rpt_order_status`` (its ``fct_orders`` row, from which the same run builds the mart) and in
the dashboard snapshot within 60 s, p95 over ``--orders`` orders.

    .venv/bin/python bench/replication_cdc_e2e.py [--orders 20] [--every 3] [--tick 2] \
        [--workdir DIR]

``adw replicate --cdc-setup`` and ``adw build`` once, then ``adw replicate --follow`` as a
process; orders committed one at a time every ``--every`` seconds. The Dagster daemon is
stood in for by this process: a loop that evaluates ``cdc_changes_applied_sensor`` every
``--tick`` seconds on the instance of ADW_HOME and executes the run it requests in process
(``cdc_changes_job``, the same job, pool and instance; one run at a time). Latency per order:
from its commit to the end of the first run after which it is in both the warehouse's
``marts.fct_orders`` and the snapshot's. Data: the real AdventureWorks CSVs when present,
else synthetic ``--scale``.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg

HERE = Path(__file__).resolve().parent
_spec = importlib.util.spec_from_file_location("replication_cdc", HERE / "replication_cdc.py")
cdc_bench = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(cdc_bench)
BOUND = 60.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--orders", type=int, default=20)
    ap.add_argument("--every", type=float, default=3.0)
    ap.add_argument("--tick", type=float, default=2.0)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--workdir", type=Path, default=None,
                    help="where its PostgreSQL and ADW_HOME live (default: the temp dir); "
                    "outside a temp dir that other processes clean")  # fmt: skip
    args = ap.parse_args()
    for k, v in cdc_bench.QUIET_ENV.items():
        os.environ.setdefault(k, v)
    from adw_assets.lib.replication import cdc_slot
    from adw_assets.lib.source.load import load_directory
    from adw_assets.lib.source.seed import seed_database
    from adw_assets.lib.source.server import dsn_with_user, ensure_schema, with_database
    from adw_assets.lib.source.simulate import simulate
    from adw_assets.settings import CDC_ROLE, REPLICATION_ROLE

    say = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="adw-bench-cdc-e2e-", dir=args.workdir))
    server = cdc_bench.start_server(workdir / "pg")
    follow = None
    try:
        with psycopg.connect(server.get_uri("postgres"), autocommit=True) as conn:
            conn.execute("create database bench_e2e")
        owner = with_database(server.get_uri("postgres"), "bench_e2e")
        ensure_schema(owner)
        if (cdc_bench.REAL_DATA / "sales.salesorderdetail.csv").exists():
            say(f"loading the real AdventureWorks from {cdc_bench.REAL_DATA}")
            load_directory(owner, cdc_bench.REAL_DATA)
        else:
            say(f"seeding synthetic scale {args.scale}")
            seed_database(owner, scale=args.scale, seed=1, progress=say)
        with psycopg.connect(owner, autocommit=True) as conn:  # as `adw replicate` asks
            cdc_slot.ensure_cdc_role(conn, connection_limit=8)  # an external source to
        home = workdir / "home"
        env = {"ADW_HOME": str(home), "ADW_SOURCE_DSN": owner, "ADW_REPLICATION_METHOD": "cdc",
               "ADW_REPLICATION_DSN": dsn_with_user(owner, REPLICATION_ROLE),
               "ADW_REPLICATION_CDC_DSN": dsn_with_user(owner, CDC_ROLE),
               "ADW_CARD_HASH_SALT": "bench-salt",
               "DAGSTER_HOME": str(home / "dagster")}  # fmt: skip
        os.environ.update(env)
        adw = str(Path(sys.executable).parent / "adw")
        for step in (["replicate", "--cdc-setup"], ["build", "--no-answers"]):
            say(f"adw {' '.join(step)}")
            done = subprocess.run([adw, *step], env=os.environ, capture_output=True, text=True)
            if done.returncode:
                raise SystemExit(f"adw {' '.join(step)} failed:\n{done.stderr[-3000:]}")
        follow = subprocess.Popen([adw, "replicate", "--follow"], env=os.environ, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
        while "following" not in (line := follow.stderr.readline()):
            if follow.poll() is not None:
                raise SystemExit("adw replicate --follow failed: " + line)
        threading.Thread(target=lambda: [None for _ in follow.stderr], daemon=True).start()
        latencies, runs = measure(args, owner, simulate, say)
    except BaseException:
        if not workdir.exists():
            say(f"the bench's work folder {workdir} was removed while it ran (by another "
                "process); PostgreSQL stops within a minute of losing its data folder. Rerun "
                "with --workdir outside the shared temp dir.")  # fmt: skip
        raise
    finally:
        if follow is not None:
            follow.terminate()
            follow.wait(60)
        server.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)
    latencies.sort()
    p50 = latencies[len(latencies) // 2]
    p95 = latencies[min(len(latencies) - 1, round(0.95 * len(latencies)) - 1)]
    builds = [s for s, _n in runs]
    print(f"\nend to end, {len(latencies)} orders, one every {args.every:g} s; the daemon stood in "
          f"for by a loop evaluating the sensor every {args.tick:g} s and running its job in "
          "process:")  # fmt: skip
    print(f"  p50 {p50:.1f} s, p95 {p95:.1f} s (bound {BOUND:.0f} s, ratio {p95 / BOUND:.2f}); "
          f"max {latencies[-1]:.1f} s")  # fmt: skip
    print(f"  {len(runs)} runs of cdc_changes_job, {sum(builds) / len(builds):.1f} s each on "
          f"average ({max(builds):.1f} s max)")  # fmt: skip
    print(f"  load average {Path('/proc/loadavg').read_text().split()[:3]}")


def measure(args, owner: str, simulate, say) -> tuple[list[float], list[tuple[float, int]]]:
    import dagster as dg

    from adw_assets.cli import pipeline
    from adw_assets.lib.serving import SNAPSHOT_DB, serving_dir
    from adw_assets.lib.warehouse import connect_to_read
    from adw_assets.settings import get_settings

    get_settings.cache_clear()
    settings = get_settings()
    defs = pipeline.load_definitions()
    sensor = defs.resolve_sensor_def("cdc_changes_applied_sensor")
    committed: dict[int, float] = {}
    done: dict[int, float] = {}
    runs: list[tuple[float, int]] = []

    def produce() -> None:
        for i in range(args.orders):
            with psycopg.connect(owner) as conn:
                before = conn.execute("select max(salesorderid) from sales.salesorderheader")
                top = before.fetchone()[0]
            simulate(owner, orders=1, updates=0, seed=100 + i, progress=lambda _m: None)
            at = time.monotonic()
            with psycopg.connect(owner) as conn:
                rows = conn.execute(
                    "select salesorderid from sales.salesorderheader where salesorderid > %s",
                    (top,),
                ).fetchall()
            for (order,) in rows:
                committed[order] = at
            time.sleep(args.every)

    def ids(path: Path) -> set[int]:  # waits while the follower applies a micro-batch
        with connect_to_read(path) as con:
            return {
                r[0] for r in con.execute("select sales_order_id from marts.fct_orders").fetchall()
            }

    producer = threading.Thread(target=produce)
    with dg.DagsterInstance.get() as instance:
        # warm-up, not measured: the follower's first progress counts every table as changed
        # (its snapshot is new data), so the first run rebuilds all that is downstream
        first = sensor(dg.build_sensor_context(instance=instance, definitions=defs))
        say(f"warm-up run of every table's downstream ({len(first.asset_events)} tables)")
        job = pipeline.requested_job(defs, sensor.job_name, first.run_requests[0])
        if not (warm := pipeline.run(job, command="bench-cdc-sensor", quiet=True)).success:
            raise SystemExit(f"the warm-up run failed: {warm.errors}")
        cursor = first.cursor
        producer.start()
        while producer.is_alive() or len(done) < len(committed):
            if not producer.is_alive() and time.monotonic() - max(committed.values()) > 10 * BOUND:
                missing = sorted(set(committed) - set(done))
                raise SystemExit(f"orders {missing} never reached the marts and the snapshot")
            tick = sensor(
                dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs)
            )
            if not tick.run_requests:
                time.sleep(args.tick)
                continue
            cursor = tick.cursor
            started = time.monotonic()
            job = pipeline.requested_job(defs, sensor.job_name, tick.run_requests[0])
            summary = pipeline.run(job, command="bench-cdc-sensor", quiet=True)
            ended = time.monotonic()
            if not summary.success:
                raise SystemExit(f"the sensor's run failed: {summary.errors}")
            runs.append((ended - started, len(tick.asset_events)))
            seen = ids(settings.duckdb_path) & ids(serving_dir(settings) / SNAPSHOT_DB)
            for order, at in list(committed.items()):
                if order not in done and order in seen:
                    done[order] = ended - at
            say(f"run {len(runs)}: {ended - started:.1f} s, {len(done)}/{args.orders} orders in")
        producer.join()
    return list(done.values()), runs


if __name__ == "__main__":
    sys.exit(main())
