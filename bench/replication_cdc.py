"""Bounds of continuous CDC (``adw replicate --follow``) on the embedded PostgreSQL and DuckDB.

    .venv/bin/python bench/replication_cdc.py [--rate 200] [--seconds 60] [--queued 100000]
                                              [--memory-changes 1000000]

0. **Initial snapshot**: the CDC run that creates the slot and copies every table, timed
   between two cursor full syncs of the same data into fresh DuckDB files; its time against
   the second (the first pays cold caches and first imports). Bound: <= 1.3x.
1. **Latency**: a producer process commits ``--rate`` single-row updates per second for
   ``--seconds`` (over 4 sessions; the rate it achieved is printed); the follower
   (:class:`cdc_follow.Follower`, in this process) records, for every source transaction, the
   time from its commit (PostgreSQL's commit timestamp) to the return of the DuckDB commit that
   holds it. Bounds: p50 <= 0.5 s, p95 <= 2 s.
2. **Catch-up**: ``--queued`` changes committed (transactions of 1,000 rows) while nothing
   follows, then the follower started: changes applied per second until all are in. Bound:
   >= 20,000 changes/s.
3. **Memory**: ``adw replicate --follow`` (the command, its own process) while
   ``--memory-changes`` changes are committed; its RSS sampled every 0.2 s: the mean of the
   first tenth of the samples vs the last tenth. Bound: within 10%.

Data: the real AdventureWorks CSVs (``--data``, default ../shared/adventureworks beside the
checkout) when present, else synthetic scale 1. Figures, their ratio to the bound and the load
average are printed.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psycopg

REPO = Path(__file__).resolve().parents[1]
REAL_DATA = REPO.parent / "shared" / "adventureworks"
QUIET_ENV = {"DO_NOT_TRACK": "1", "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
             "DAGSTER_DISABLE_TELEMETRY": "1"}  # fmt: skip

PRODUCER = r"""
import sys, threading, time, psycopg
dsn, rate, seconds, per_txn, total, sessions = sys.argv[1], float(sys.argv[2]), \
    float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
with psycopg.connect(dsn) as conn:
    ids = [r[0] for r in conn.execute(
        "select salesorderdetailid from sales.salesorderdetail order by 1").fetchall()]
n = total or int(rate * seconds)
start = time.perf_counter()

def work(first):  # commits first, first + sessions, ...: each at its time when paced
    with psycopg.connect(dsn) as conn:
        for i in range(first * per_txn, n, sessions * per_txn):
            if rate:
                wait = start + i / rate - time.perf_counter()
                if wait > 0:
                    time.sleep(wait)
            keys = [ids[(i + j) % len(ids)] for j in range(min(per_txn, n - i))]
            conn.execute("update sales.salesorderdetail set unitpricediscount = "
                         "1 - unitpricediscount, modifieddate = now() "
                         "where salesorderdetailid = any(%s)", (keys,))
            conn.commit()

threads = [threading.Thread(target=work, args=(k,)) for k in range(sessions)]
for t in threads:
    t.start()
for t in threads:
    t.join()
print(n, time.perf_counter() - start)
"""


def produce(owner: str, *, rate: float = 0, seconds: float = 0, per_txn: int = 1,
            total: int = 0, sessions: int = 1) -> subprocess.Popen:  # fmt: skip
    """Commit changes from another process: paced at ``rate`` commits/s over ``sessions``
    connections (one session alone reached 82 commits/s at load 7 on the shared 2-core
    machine, not 200), or ``total`` changes as fast as one session goes. It prints the
    changes committed and the seconds taken."""
    args = [owner, str(rate), str(seconds), str(per_txn), str(total), str(sessions)]
    return subprocess.Popen([sys.executable, "-c", PRODUCER, *args], stdout=subprocess.PIPE)


def rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        return None
    return None


def start_server(pgdata: Path):
    import pgserver

    pgdata.mkdir(parents=True, exist_ok=True)
    os.chmod(pgdata.parent, 0o755)  # pgserver runs postgres as its own user when we are root
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    with psycopg.connect(server.get_uri("postgres"), autocommit=True) as conn:
        conn.execute("alter system set wal_level = logical")
    server.cleanup()
    return pgserver.get_server(pgdata, cleanup_mode="stop")


def follow_until(follower, changes: int, timeout: float) -> tuple[float, list]:
    """Run ``follower`` until it applied ``changes``; (seconds, latencies)."""
    done, latencies = [0], []

    def on_batch(batch) -> None:
        done[0] += batch.changes
        latencies.extend(batch.latencies)
        if done[0] >= changes:
            follower.stop()

    timer = threading.Timer(timeout, follower.stop)
    timer.daemon = True  # an interrupted bench exits without waiting for it
    timer.start()
    started = time.perf_counter()
    try:
        follower.run(on_batch=on_batch)
    finally:
        timer.cancel()
    if done[0] < changes:
        raise SystemExit(f"only {done[0]:,} of {changes:,} changes applied in {timeout} s")
    return time.perf_counter() - started, latencies


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rate", type=float, default=200.0)
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--queued", type=int, default=100_000)
    ap.add_argument("--memory-changes", type=int, default=1_000_000)
    ap.add_argument("--workdir", type=Path, default=None,
                    help="where the bench's PostgreSQL and DuckDB live (default: a new folder "
                    "under the temp dir; a shared /tmp swept by others once removed it mid-run, "
                    "and PostgreSQL stops within a minute of losing its data folder)")  # fmt: skip
    ap.add_argument("--data", type=Path, default=REAL_DATA,
                    help="the real AdventureWorks CSVs (default: %(default)s; synthetic scale 1 "
                    "when absent)")  # fmt: skip
    args = ap.parse_args()
    for k, v in QUIET_ENV.items():
        os.environ.setdefault(k, v)
    from adw_assets.lib.replication import DuckDBDestination, cdc_slot, replicate
    from adw_assets.lib.replication.cdc_follow import Follower, percentile
    from adw_assets.lib.source.load import load_directory
    from adw_assets.lib.source.seed import seed_database
    from adw_assets.lib.source.server import dsn_with_user, ensure_schema, with_database
    from adw_assets.settings import CDC_ROLE, REPLICATION_ROLE

    say = lambda m: print(m, file=sys.stderr, flush=True)  # noqa: E731
    if args.workdir:
        args.workdir.mkdir(parents=True, exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="adw-bench-cdc-", dir=args.workdir))
    server = start_server(workdir / "pg")
    try:
        with psycopg.connect(server.get_uri("postgres"), autocommit=True) as conn:
            conn.execute("create database bench_cdc")
        owner = with_database(server.get_uri("postgres"), "bench_cdc")
        ensure_schema(owner)
        if (args.data / "sales.salesorderdetail.csv").exists():
            say(f"loading the real AdventureWorks from {args.data}")
            load_directory(owner, args.data)
        else:
            say("seeding synthetic scale 1")
            seed_database(owner, scale=1.0, seed=1, progress=say)
        cdc_slot.setup(owner, superuser_role=True, connection_limit=8)
        cdc = dsn_with_user(owner, CDC_ROLE)
        path = workdir / "warehouse.duckdb"
        load_before = os.getloadavg()

        # 0. the initial snapshot vs a cursor full sync of the same data, between two of them
        def timed(dsn: str, target: Path, method: str) -> float:
            t0 = time.perf_counter()
            replicate(dsn, DuckDBDestination(target), method=method, retries=0
                      ).raise_for_failures()  # fmt: skip
            return time.perf_counter() - t0

        cursor_dsn = dsn_with_user(owner, REPLICATION_ROLE)
        cursor_times = [timed(cursor_dsn, workdir / "cursor1.duckdb", "cursor")]
        snapshot_seconds = timed(cdc, path, "cdc")
        cursor_times.append(timed(cursor_dsn, workdir / "cursor2.duckdb", "cursor"))
        cursor_seconds = cursor_times[1]  # the first pays cold caches and first imports
        load = {"snapshot": os.getloadavg()[0]}
        say(f"initial snapshot {snapshot_seconds:.1f} s, cursor full syncs "
            f"{cursor_times[0]:.1f} s and {cursor_times[1]:.1f} s")  # fmt: skip

        # 1. latency at a steady rate
        follower = Follower(cdc, DuckDBDestination(path))
        n = int(args.rate * args.seconds)
        say(f"latency: {n:,} single-row commits at {args.rate:.0f}/s")
        producer = produce(owner, rate=args.rate, seconds=args.seconds, sessions=4)
        seconds, latencies = follow_until(follower, n, args.seconds + 120)
        produce_seconds = float(producer.communicate()[0].split()[1])
        p50, p95 = percentile(latencies, 0.5), percentile(latencies, 0.95)
        load["latency"] = os.getloadavg()[0]

        # 2. catch-up after a pause
        say(f"catch-up: queueing {args.queued:,} changes")
        produce(owner, per_txn=1000, total=args.queued).wait()
        follower = Follower(cdc, DuckDBDestination(path))
        catch_seconds, _ = follow_until(follower, args.queued, 600)
        catch_rate = args.queued / catch_seconds
        load["catch-up"] = os.getloadavg()[0]

        # 3. memory of the command over many changes
        env = {**os.environ, "ADW_HOME": str(workdir / "home"), "ADW_SOURCE_DSN": owner,
               "ADW_REPLICATION_METHOD": "cdc", "ADW_REPLICATION_CDC_DSN": cdc,
               "ADW_DUCKDB_PATH": str(path), "ADW_CARD_HASH_SALT": "bench-salt"}  # fmt: skip
        say(f"memory: adw replicate --follow over {args.memory_changes:,} changes")
        adw = str(Path(sys.executable).parent / "adw")
        proc = subprocess.Popen([adw, "replicate", "--follow"], env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
        seen = []
        while "following" not in (line := proc.stderr.readline()):
            seen.append(line)
            if proc.poll() is not None:
                raise SystemExit("adw replicate --follow failed:\n" + "".join(seen))
        mem_start = time.perf_counter()
        producer = produce(owner, per_txn=1000, total=args.memory_changes)
        samples = []
        while producer.poll() is None:
            samples.append(rss_mb(proc.pid))
            time.sleep(0.2)
        time.sleep(3)  # the follower drains what is left
        while True:  # until the slot holds nothing more
            with psycopg.connect(cdc, autocommit=True) as conn:  # as the lag check connects
                lag = cdc_slot.lag(conn)
            samples.append(rss_mb(proc.pid))
            if lag.oldest_pending is None:
                break
            time.sleep(0.2)
        mem_seconds = time.perf_counter() - mem_start
        load["memory"] = os.getloadavg()[0]
        proc.terminate()
        out, err = proc.communicate(timeout=60)
        samples = [s for s in samples if s]
        tenth = max(1, len(samples) // 10)
        first, last = sum(samples[:tenth]) / tenth, sum(samples[-tenth:]) / tenth
    except BaseException:  # why the server went away, if it did, is in its log
        log = workdir / "pg" / "log"
        if not workdir.exists():
            say(f"the bench's work folder {workdir} was removed while it ran (by another "
                "process); PostgreSQL stops within a minute of losing its data folder. Rerun "
                "with --workdir outside the shared temp dir.")  # fmt: skip
        if log.exists():
            say("the bench's PostgreSQL log, last 40 lines:")
            say("".join(log.read_text(errors="replace").splitlines(True)[-40:]))
        raise
    finally:
        server.cleanup()
        shutil.rmtree(workdir, ignore_errors=True)

    loads = " / ".join(f"{x:.1f}" for x in load_before)
    ends = " / ".join(f"{x:.1f}" for x in os.getloadavg())
    phases = ", ".join(f"{k} {v:.1f}" for k, v in load.items())
    print(f"\nload average at the start {loads}, at the end {ends} (1/5/15 min); 1-min load "
          f"at the end of each phase: {phases}")  # fmt: skip
    print(f"initial snapshot {snapshot_seconds:.2f} s vs the cursor full sync after it "
          f"{cursor_seconds:.2f} s (the one before it, cold: {cursor_times[0]:.2f} s): "
          f"{snapshot_seconds / cursor_seconds:.2f}x (bound <= 1.3x)")  # fmt: skip
    print(
        f"latency, {n:,} commits at {args.rate:.0f}/s: committed in {produce_seconds:.1f} s "
        f"({n / produce_seconds:.0f}/s achieved), all applied after {seconds:.1f} s:"
    )
    print(f"  p50 {p50:.3f} s (bound 0.5 s, ratio {p50 / 0.5:.2f})")
    print(f"  p95 {p95:.3f} s (bound 2 s, ratio {p95 / 2:.2f})")
    print(f"catch-up, {args.queued:,} queued changes: {catch_seconds:.2f} s, {catch_rate:,.0f} "
          f"changes/s (bound >= 20,000, ratio {catch_rate / 20_000:.2f})")  # fmt: skip
    print(f"memory of `adw replicate --follow` over {args.memory_changes:,} changes "
          f"({mem_seconds:.0f} s, {len(samples)} samples): first tenth {first:.0f} MB, last "
          f"tenth {last:.0f} MB, ratio {last / first:.3f} (bound within 10%)")  # fmt: skip
    print(f"  its summary: {out.strip()}")
    if "Traceback" in err:
        print(err)


if __name__ == "__main__":
    sys.exit(main())
