"""Benchmark the web events: throughput, memory, latency to the warehouse view, incremental build.

    .venv/bin/python bench/events.py                 # 1,000,000 events, 100,000 incremental
    .venv/bin/python bench/events.py --events 200000 --incremental 20000 --latency-seconds 10

1. Sustained throughput into the landing zone with validation: `adw events stream --rate 0`
   (generator -> validation -> Parquet, fsync + rename per batch) in a child process, 1% bad
   events; its RSS sampled every 0.25 s (memory must stay flat over the whole run). The same
   for JSON lines from a file (`--from-file`: json.loads + validation), an external producer.
2. Emit -> queryable latency: `adw events stream --rate R` while this process polls the dbt
   view staging.stg_web__events (read-only DuckDB on the warehouse) every 50 ms; an event's
   latency is the first poll that sees it minus its timestamp (its emission time).
3. The time of an incremental `dbt run -s fct_web_events` after N new events, on top of the
   events of step 1 (first a full build), as wall time and dbt's own model time.

Each case runs in a temporary ADW_HOME. Not a pass/fail test: it prints figures.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
ADW = str(Path(sys.executable).parent / "adw")


def _use_home(home: Path) -> None:
    from adw_assets.settings import get_settings

    for name in [n for n in os.environ if n.startswith("ADW_")]:
        del os.environ[name]
    os.environ["ADW_HOME"] = str(home)
    get_settings.cache_clear()


def _rss_mb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except FileNotFoundError:
        return None
    return None


def _stream_child(args: list[str]) -> tuple[dict, list[tuple[float, float]]]:
    """Run `adw events stream ... --json -q`; its summary and (seconds, RSS MB) samples."""
    proc = subprocess.Popen(
        [ADW, "events", "stream", *args, "--json", "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    samples: list[tuple[float, float]] = []
    started = time.monotonic()
    while proc.poll() is None:
        rss = _rss_mb(proc.pid)
        if rss is not None:
            samples.append((time.monotonic() - started, rss))
        time.sleep(0.25)
    out = proc.stdout.read()
    if proc.returncode != 0:
        raise SystemExit(f"adw events stream {' '.join(args)} failed (exit {proc.returncode})")
    return json.loads(out.strip().splitlines()[-1]), samples


def _dbt(home: Path, *args: str) -> tuple[float, dict[str, float]]:
    """Run dbt for ``home``; wall seconds and each model's execution time."""
    from adw_assets.lib.dbt import run_dbt

    target = home / "dbt-target"
    started = time.perf_counter()
    run_dbt(list(args), target_path=target)
    wall = time.perf_counter() - started
    results = json.loads((target / "run_results.json").read_text())["results"]
    return wall, {r["unique_id"].split(".")[-1]: r["execution_time"] for r in results}


def throughput_and_memory(home: Path, events: int) -> dict:
    _use_home(home)
    summary, samples = _stream_child(
        ["--rate", "0", "--count", str(events), "--seed", "1", "--bad-ratio", "0.01"]
    )
    steady = [rss for t, rss in samples if t >= 2.0] or [rss for _, rss in samples]
    tenth = max(1, len(steady) // 10)

    def median(values: list[float]) -> float:
        return sorted(values)[len(values) // 2]

    return {
        "events": summary["events"],
        "events_per_second": summary["events_per_second"],
        "accepted": summary["accepted"],
        "rejected": summary["rejected"],
        "batches": summary["batches"],
        "rss_mb_first_tenth": round(median(steady[:tenth]), 1),
        "rss_mb_last_tenth": round(median(steady[-tenth:]), 1),
        "rss_mb_max": round(max(r for _, r in samples), 1),
        "rss_samples": len(samples),
    }


def json_lines(home: Path, events: int) -> dict:
    _use_home(home)
    spool = home / "events.jsonl"
    home.mkdir(parents=True, exist_ok=True)
    with spool.open("w") as out:
        subprocess.run(
            [ADW, "events", "generate", "-n", str(events), "--seed", "2", "--bad-ratio", "0.01"],
            stdout=out,
            stderr=subprocess.DEVNULL,
            check=True,
        )
    summary, samples = _stream_child(["--from-file", str(spool)])
    return {
        "events": summary["events"],
        "events_per_second": summary["events_per_second"],
        "rss_mb_max": round(max((r for _, r in samples), default=0.0), 1),
    }


def latency(home: Path, rate: int, seconds: float) -> dict:
    import duckdb

    from adw_assets.lib.events import burst

    _use_home(home)
    burst(n_events=100, seed=3)  # the view reads the files only once one exists
    _dbt(home, "run", "-s", "stg_web__events")
    warehouse = str(home / "warehouse.duckdb")
    proc = subprocess.Popen(
        [ADW, "events", "stream", "--rate", str(rate), "--seed", "4", "--duration", str(seconds)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    latencies: list[float] = []
    seen_until = None
    with duckdb.connect(warehouse, read_only=True) as con:
        con.execute("set TimeZone = 'UTC'")
        [(seen_until,)] = con.execute(
            "select max(epoch(event_at)) from staging.stg_web__events"
        ).fetchall()
        while proc.poll() is None:
            polled = time.time()
            rows = con.execute(
                "select epoch(event_at) from staging.stg_web__events "
                "where event_date >= current_date - 1 and epoch(event_at) > ?",
                [seen_until],
            ).fetchall()
            for (ts,) in rows:
                latencies.append(polled - ts)
            if rows:
                seen_until = max(ts for (ts,) in rows)
            time.sleep(0.05)
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))], 3)

    return {
        "rate": rate,
        "events_seen": len(latencies),
        "p50_seconds": pct(0.50),
        "p95_seconds": pct(0.95),
        "max_seconds": round(latencies[-1], 3),
    }


def incremental(home: Path, new_events: int) -> dict:
    _use_home(home)
    full_wall, full_times = _dbt(home, "run", "-s", "stg_web__events", "fct_web_events")
    summary, _ = _stream_child(["--rate", "0", "--count", str(new_events), "--seed", "5"])
    wall, times = _dbt(home, "run", "-s", "fct_web_events")
    import duckdb

    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        rows, distinct = con.execute(
            "select count(*), count(distinct event_id) from marts.fct_web_events"
        ).fetchone()
    return {
        "full_build_wall_seconds": round(full_wall, 2),
        "full_build_model_seconds": round(full_times["fct_web_events"], 2),
        "new_events": summary["accepted"],
        "incremental_wall_seconds": round(wall, 2),
        "incremental_model_seconds": round(times["fct_web_events"], 2),
        "fct_rows": rows,
        "fct_distinct_event_ids": distinct,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--json-events", type=int, default=200_000)
    parser.add_argument("--incremental", type=int, default=100_000)
    parser.add_argument("--latency-rate", type=int, default=2000)
    parser.add_argument("--latency-seconds", type=float, default=20.0)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="adw-bench-events-"))
    figures: dict[str, dict] = {}
    try:
        print(f"1. throughput + memory: {args.events:,} generated events ...", file=sys.stderr)
        figures["throughput"] = throughput_and_memory(root / "a", args.events)
        print(f"   JSON lines from a file: {args.json_events:,} events ...", file=sys.stderr)
        figures["json_lines"] = json_lines(root / "b", args.json_events)
        print(
            f"2. latency at {args.latency_rate}/s for {args.latency_seconds} s ...", file=sys.stderr
        )
        figures["latency"] = latency(root / "c", args.latency_rate, args.latency_seconds)
        print(
            f"3. incremental fct_web_events after {args.incremental:,} events ...", file=sys.stderr
        )
        figures["incremental"] = incremental(root / "a", args.incremental)
    finally:
        shutil.rmtree(root, ignore_errors=True)
    t, j, lat, inc = (figures[k] for k in ("throughput", "json_lines", "latency", "incremental"))
    print(
        f"\nthroughput (generator -> validation -> Parquet): {t['events_per_second']:,.0f} "
        f"events/s over {t['events']:,} events "
        f"({t['rejected']:,} rejected, {t['batches']} batches)\n"
        f"throughput (JSON lines file -> parse -> validation -> Parquet): "
        f"{j['events_per_second']:,.0f} events/s over {j['events']:,} events\n"
        f"memory of the streamer: median RSS {t['rss_mb_first_tenth']} MB in the first tenth of "
        f"the run, {t['rss_mb_last_tenth']} MB in the last tenth, max {t['rss_mb_max']} MB\n"
        f"emit -> queryable in staging.stg_web__events at {lat['rate']}/s: p50 "
        f"{lat['p50_seconds']} s, p95 {lat['p95_seconds']} s, max {lat['max_seconds']} s "
        f"({lat['events_seen']:,} events)\n"
        f"fct_web_events: full build of {inc['fct_rows'] - inc['new_events']:,} events "
        f"{inc['full_build_model_seconds']} s (dbt wall {inc['full_build_wall_seconds']} s); "
        f"incremental after {inc['new_events']:,} new events {inc['incremental_model_seconds']} s "
        f"(dbt wall {inc['incremental_wall_seconds']} s); {inc['fct_rows']:,} rows, "
        f"{inc['fct_distinct_event_ids']:,} distinct event ids"
    )
    print(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
