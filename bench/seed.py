"""Benchmark the synthetic seed: seconds, rows/s and peak memory for each scale.

    .venv/bin/python bench/seed.py              # scales 1 and 10
    .venv/bin/python bench/seed.py --scale 0.1  # any scales

Each case runs in a fresh child process (so its RSS high-water mark is its own) against a
fresh database of one embedded PostgreSQL (pgserver) in a temporary directory. Memory is the
seeding process's peak RSS (the server's is not counted), and its RSS after imports, before
seeding, as a baseline. Not a pass/fail test: it prints figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def child(dsn: str, scale: float) -> None:
    from adw_assets.lib.source.seed import seed_database

    baseline = _rss_mb()
    started = time.perf_counter()
    counts = seed_database(dsn, scale=scale, seed=42, today=date.today(), progress=lambda _: None)
    seconds = time.perf_counter() - started
    print(
        json.dumps(
            {
                "rows": sum(counts.values()),
                "orders": counts["sales.salesorderheader"],
                "seconds": seconds,
                "baseline_mb": baseline,
                "peak_mb": _rss_mb(),
            }
        )
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, action="append", help="default: 1 and 10")
    args = parser.parse_args()
    scales = args.scale or [1.0, 10.0]

    import pgserver
    import psycopg

    from adw_assets.lib.source.server import with_database

    with tempfile.TemporaryDirectory(prefix="adw-bench-") as tmp:
        server = pgserver.get_server(tmp, cleanup_mode="stop")
        admin = server.get_uri("postgres")
        print(f"cpus: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}", flush=True)
        print(
            f"{'scale':>6} {'rows':>10} {'orders':>9} {'seconds':>8} {'rows/s':>9} "
            f"{'baseline MB':>12} {'peak MB':>8}",
            flush=True,
        )
        for i, scale in enumerate(scales):
            name = f"bench_{i}"
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'create database "{name}"')
            out = subprocess.run(
                [sys.executable, __file__, "--child", with_database(admin, name), str(scale)],
                capture_output=True,
                text=True,
                check=True,
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"{scale:>6g} {r['rows']:>10,} {r['orders']:>9,} {r['seconds']:>8.1f} "
                f"{r['rows'] / r['seconds']:>9,.0f} {r['baseline_mb']:>12.0f} "
                f"{r['peak_mb']:>8.0f}",
                flush=True,
            )
            with psycopg.connect(admin, autocommit=True) as conn:
                conn.execute(f'drop database "{name}" with (force)')
        server.cleanup()


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        child(sys.argv[2], float(sys.argv[3]))
    else:
        main()
