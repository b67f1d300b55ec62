"""Landing-zone compaction on real files, DuckDB, dbt and `adw events compact`: lossless and
idempotent, exactly once for a reader and beside a writer at every instant, after a kill -9 at
random points, and the same fct_web_events and live panel before and after."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from adw_assets.dashboard.live import LiveEvents
from adw_assets.lib.events import history
from adw_assets.lib.events.compact import COMPACTED, compact, verify_retained
from adw_assets.lib.events.landing import Checkpoint, write_checkpoint
from tests.lib.events.conftest import landed

ADW = Path(sys.executable).parent / "adw"
HOUR = 3600.0


def _past_hours(hours: int, n_events: int, batch_seconds: float = 60.0, **kw) -> float:
    """Land ``hours`` whole closed hours of history ending an hour ago; returns its start."""
    start = (time.time() // HOUR - 1 - hours) * HOUR
    history(start, hours * HOUR, n_events, batch_seconds=batch_seconds, **kw)
    return start


def _files(cfg) -> list[Path]:
    return sorted(cfg.landing_dir.glob("*/*.parquet"))


def _all_rows(cfg) -> list[tuple]:
    return sorted(landed(cfg, "event_id, _batch_id, timestamp, _ingested_at, event_date, country"))


def test_compaction_is_lossless_and_idempotent(cfg):
    _past_hours(3, 6000)
    history(time.time() - 30, 20, 200, batch_seconds=5, source="live")  # the open hour
    before, files_before = _all_rows(cfg), _files(cfg)

    summary = compact(cfg)

    after = _all_rows(cfg)
    assert after == before  # every column of every event, once
    compacted = [p for p in _files(cfg) if COMPACTED.fullmatch(p.name)]
    assert summary.hours >= 3 and len(compacted) == summary.hours
    assert summary.open_hours >= 1  # the live stream's hour stays as it is
    assert {p.name for p in _files(cfg)} >= {p.name for p in files_before if "live" in p.name}
    assert len(_files(cfg)) < len(files_before) / 10
    assert summary.events == sum(1 for r in before if not r[1].startswith("live"))
    checks = verify_retained(cfg)
    assert checks and all(c["differing_rows"] == 0 for c in checks)
    assert all(c["micro_batch_events"] == c["compacted_events"] for c in checks)

    names = [p.name for p in _files(cfg)]
    again = compact(cfg)  # nothing left to do: nothing changes
    assert again.hours == 0 and [p.name for p in _files(cfg)] == names
    assert _all_rows(cfg) == before


def test_an_unacknowledged_batch_keeps_its_hour_open_and_a_straggler_joins_its_hour(cfg):
    start = _past_hours(2, 2000)
    first = compact(cfg)
    assert first.hours >= 2
    # a batch of the first hour re-written after a crash of its stream (same receive time)
    history(start + 600, 60, 50, batch_seconds=60, source="late")
    write_checkpoint(cfg, Checkpoint(source="late", next_seq=0))  # not acknowledged yet
    assert compact(cfg).hours == 0
    write_checkpoint(cfg, Checkpoint(source="late", next_seq=50))  # acknowledged
    rows = _all_rows(cfg)
    second = compact(cfg)
    assert second.hours == 1
    assert _all_rows(cfg) == rows
    assert all(c["differing_rows"] == 0 for c in verify_retained(cfg))


def test_retention_deletes_replaced_micro_batches_after_its_hours(cfg, monkeypatch):
    _past_hours(2, 500)
    compact(cfg)
    kept = list(cfg.compacted_dir.glob("*/*"))
    assert kept and all((k / "compaction.json").exists() for k in kept)
    assert compact(cfg, now=time.time() + cfg.compacted_retention_hours * HOUR - 60).expired == 0
    assert compact(cfg, now=time.time() + cfg.compacted_retention_hours * HOUR + 60).expired
    assert not list(cfg.compacted_dir.glob("*/*"))


def test_readers_beside_a_writer_never_see_an_event_twice_or_miss_one(cfg):
    """While compaction swaps partitions and a stream writes, every query of the landing zone
    counts each event once, and never fewer than the previous query (events only arrive)."""
    _past_hours(24 * 3, 30_000, batch_seconds=120)  # four partitions to swap
    stop, seen, errors = threading.Event(), [], []

    def write() -> None:
        t = time.time()
        while not stop.is_set():
            history(t, 1, 20, batch_seconds=1, source=f"w{int(t * 1000)}")
            t += 1

    def read() -> None:
        with duckdb.connect() as con:
            while not stop.is_set():
                try:
                    seen.append(
                        con.execute(
                            "select count(*), count(distinct event_id) from read_parquet(?)",
                            [cfg.landing_glob],
                        ).fetchone()
                    )
                except duckdb.IOException as exc:  # listed before a swap, opened after
                    errors.append(str(exc))

    threads = [threading.Thread(target=write), threading.Thread(target=read)]
    for t in threads:
        t.start()
    time.sleep(0.5)
    summary = compact(cfg)
    time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join()
    assert summary.partitions >= 4
    assert len(seen) > 10
    assert all(total == distinct for total, distinct in seen), "an event was read twice"
    counts = [total for total, _ in seen]
    assert counts == sorted(counts), "a query missed events an earlier one had"
    assert all("no such file" in e.lower() or "no files found" in e.lower() for e in errors), errors
    final = [r[0] for r in landed(cfg)]
    assert len(final) == len(set(final)) >= counts[-1]


def test_the_live_panel_reads_compacted_hours_once(cfg):
    _past_hours(3, 3000)
    panel = LiveEvents(cfg.landing_dir)
    panel.refresh()
    count = "select count(*) from live_events"
    before = panel.query(count).iloc[0, 0]
    compact(cfg)
    panel.refresh()  # the compacted files are new to it: read, their events not added again
    assert panel.query(count).iloc[0, 0] == before == 3000
    fresh = LiveEvents(cfg.landing_dir)
    assert fresh.refresh() == len(_files(cfg))
    assert fresh.query(count).iloc[0, 0] == 3000


@pytest.mark.slow
def test_fct_web_events_is_the_same_before_and_after_compaction(cfg, tmp_path):
    from adw_assets.lib.dbt import run_dbt
    from adw_assets.settings import get_settings

    _past_hours(4, 4000)
    settings = get_settings()
    models = ["stg_web__events", "fct_web_events"]
    query = (
        "select event_id, event_at, event_date, session_id, ip_address_hash, order_value, "
        "ingested_at from marts.fct_web_events order by event_id"
    )

    def table() -> list[tuple]:
        with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
            return con.execute(query).fetchall()

    run_dbt(["run", "-s", *models], settings=settings, target_path=tmp_path / "t1")
    raw = table()
    assert len(raw) == 4000
    assert compact(cfg).hours >= 4
    run_dbt(["run", "-s", *models], settings=settings, target_path=tmp_path / "t2")
    assert table() == raw  # incremental over the compacted files: nothing added or lost
    history(time.time() - 10, 5, 100, batch_seconds=5, source="new")
    run_dbt(["run", "-s", *models], settings=settings, target_path=tmp_path / "t3")
    assert len(table()) == 4100
    run_dbt(
        ["run", "-s", *models, "--full-refresh"], settings=settings, target_path=tmp_path / "t4"
    )
    assert len(table()) == 4100


@pytest.mark.skipif(not ADW.exists(), reason=f"the adw command is not installed at {ADW}")
def test_adw_events_compact_prints_progress_and_a_summary(cfg):
    _past_hours(2, 1000)
    done = subprocess.run([str(ADW), "events", "compact", "--json"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "event_date=" in done.stderr and "compacted" in done.stderr
    summary = json.loads(done.stdout)
    assert summary["hours"] >= 2 and summary["events"] == 1000


@pytest.mark.slow
@pytest.mark.skipif(not ADW.exists(), reason=f"the adw command is not installed at {ADW}")
def test_kill_9_of_the_compactor_at_random_points_then_a_rerun_keeps_every_event_once(cfg):
    """`adw events compact` is killed at random points (inside the work on a partition:
    writing, journal, exchange, retirement); after each kill and after a final run every
    event is in the landing zone exactly once, and the retained compactions match."""
    rng = random.Random(int(os.environ.get("ADW_TEST_KILL_SEED", time.time())))
    trials, killed_inside = 10, 0
    for trial in range(trials):  # a new day of history per trial: work for the kill to hit
        history(time.time() - (trial + 2) * 86400 - 3 * HOUR, 86400, 2000, batch_seconds=300,
                source=f"day{trial}")  # fmt: skip
        expected = sorted(r[0] for r in landed(cfg))
        assert len(expected) == len(set(expected))
        proc = subprocess.Popen(
            [str(ADW), "events", "compact"], stderr=subprocess.PIPE, stdout=subprocess.DEVNULL
        )
        target, started = rng.randrange(1, 3), 0  # inside the first or second partition
        for line in proc.stderr:
            started += line.startswith(b"event_date=") and b" -> " in line
            if started >= target:
                break
        time.sleep(rng.uniform(0.0, 0.5))
        os.kill(proc.pid, signal.SIGKILL)
        killed_inside += proc.wait() == -signal.SIGKILL and started >= target
        proc.stderr.close()
        assert sorted(r[0] for r in landed(cfg)) == expected, "an event missing or doubled"
    assert killed_inside >= trials // 2, "the kills did not land inside compactions"
    final = subprocess.run([str(ADW), "events", "compact"], capture_output=True, text=True)
    assert final.returncode == 0, final.stderr
    assert sorted(r[0] for r in landed(cfg)) == expected
    assert not list((cfg.compaction_dir / "work").iterdir())
    assert not list(cfg.compaction_dir.glob("event_date=*.json"))
    checks = verify_retained(cfg)
    assert checks and all(c["differing_rows"] == 0 for c in checks)
    again = compact(cfg)
    assert again.hours == 0
