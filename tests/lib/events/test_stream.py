"""The streamer and the landing zone: atomic batches, right day, dead letters, resume, recovery."""

from __future__ import annotations

import dataclasses
import io
import json
import threading
import time
from datetime import UTC, datetime

import pyarrow.parquet as pq
import pytest

from adw_assets.errors import AdwError
from adw_assets.lib.events import burst, landing
from adw_assets.lib.events.generator import EventGenerator
from adw_assets.lib.events.schema import LANDING_SCHEMA
from adw_assets.lib.events.sources import FileSource, GeneratorSource, StdinSource
from adw_assets.lib.events.stream import run_stream
from adw_assets.lib.events.validate import Validator
from tests.lib.events.conftest import landed


def expected_ids(generator: EventGenerator, start: int, end: int) -> set[str]:
    """Ids the stream must land: the events the generator says are valid."""
    events = generator.emit(start, end - start, 0.0, 1.0)
    return {
        e["event_id"]
        for seq, e in zip(range(start, end), events, strict=True)
        if generator.expected_reason(seq) is None
    }


# Late events are 1 to (lookback - 1) hours late: with a 72-hour lookback some are always more
# than a day late, so a batch spans two UTC days whatever the hour the test runs at (with the
# default 24 hours, after 22:00 UTC every late event fell on today).
LOOKBACK_HOURS = 72.0


def test_stream_lands_valid_events_and_dead_letters_the_rest(cfg):
    cfg = dataclasses.replace(cfg, lookback_hours=LOOKBACK_HOURS)
    generator = EventGenerator(4, bad_ratio=0.1, lookback_hours=LOOKBACK_HOURS)
    stats = run_stream(GeneratorSource(generator, rate=0, limit=12_000, max_batch=5000), cfg)
    assert (stats.accepted + stats.rejected, stats.batches) == (12_000, 3)
    rows = landed(cfg, "event_id, timestamp, event_date")
    ids = [r[0] for r in rows]
    assert len(ids) == len(set(ids)) == stats.accepted
    assert set(ids) == expected_ids(generator, 0, 12_000)
    # late events land in the partition of their own (UTC) day
    assert all(ts.astimezone(UTC).date() == day for _, ts, day in rows)
    assert len({day for *_, day in rows}) >= 2  # some events were hours late
    for path in cfg.landing_dir.glob("*/*.parquet"):
        assert pq.read_schema(path).remove_metadata() == LANDING_SCHEMA
    dead = [
        json.loads(line)
        for path in cfg.dead_letter_dir.glob("*/*.jsonl")
        for line in path.read_text().splitlines()
    ]
    assert len(dead) == stats.rejected == sum(stats.reasons.values())
    assert {d["reason"] for d in dead} == set(stats.reasons) and len(stats.reasons) == 8
    assert all(d["payload"] and d["source"] == "gen-s4" and d["batch_id"] for d in dead)
    checkpoint = landing.read_checkpoint(cfg, "gen-s4")
    assert (checkpoint.next_seq, checkpoint.pending) == (12_000, None)
    assert (checkpoint.accepted, checkpoint.rejected) == (stats.accepted, stats.rejected)
    assert not list(cfg.events_dir.rglob("*.tmp"))


def test_a_restart_resumes_after_the_checkpoint(cfg):
    generator = EventGenerator(5)
    for _ in range(3):
        run_stream(GeneratorSource(generator, rate=0, limit=2500, max_batch=1000), cfg)
    ids = [r[0] for r in landed(cfg)]
    assert len(ids) == len(set(ids)) == 7500
    assert set(ids) == expected_ids(generator, 0, 7500)


def test_rate_limited_stream_paces_batches_and_stops_at_the_duration(cfg):
    generator = EventGenerator(6)
    out = io.StringIO()
    stats = run_stream(GeneratorSource(generator, rate=2000), cfg, duration=2.2, progress=out)
    assert 3500 <= stats.accepted <= 4600
    assert stats.batches >= 2
    assert stats.max_lag < 1.5  # one flush interval plus the write
    lines = out.getvalue().splitlines()
    assert len(lines) >= 2 and "events/s" in lines[0] and "lag" in lines[0]


def test_crash_between_rename_and_checkpoint_rewrites_the_same_files(cfg, monkeypatch):
    generator = EventGenerator(8, bad_ratio=0.05)
    run_stream(GeneratorSource(generator, rate=0, limit=3000, max_batch=1000), cfg)
    real = landing.write_checkpoint
    calls = []

    def crash_on_commit(cfg_, checkpoint):
        calls.append(checkpoint.pending)
        if checkpoint.pending is None:  # the commit after the rename: die before it
            raise KeyboardInterrupt("kill -9")
        real(cfg_, checkpoint)

    monkeypatch.setattr("adw_assets.lib.events.stream.write_checkpoint", crash_on_commit)
    with pytest.raises(KeyboardInterrupt):
        run_stream(GeneratorSource(generator, rate=0, limit=1000, max_batch=1000), cfg)
    pending = landing.read_checkpoint(cfg, "gen-s8").pending
    assert pending["start"] == 3000 and pending["end"] == 4000
    before = {p: p.read_bytes() for p in cfg.landing_dir.glob("*/*.parquet")}
    monkeypatch.setattr("adw_assets.lib.events.stream.write_checkpoint", real)
    stats = run_stream(GeneratorSource(generator, rate=0, limit=1000, max_batch=1000), cfg)
    assert stats.recovered_batch
    after = {p: p.read_bytes() for p in cfg.landing_dir.glob("*/*.parquet")}
    assert set(before) <= set(after)
    assert all(after[p] == before[p] for p in before)  # re-written identically
    ids = [r[0] for r in landed(cfg)]
    assert len(ids) == len(set(ids))
    assert set(ids) == expected_ids(generator, 0, 5000)


def test_crash_after_part_of_a_batch_loses_and_duplicates_nothing(cfg, monkeypatch):
    cfg = dataclasses.replace(cfg, lookback_hours=LOOKBACK_HOURS)
    # many late events: batches span two days
    generator = EventGenerator(9, bad_ratio=0.3, lookback_hours=LOOKBACK_HOURS)
    published = []
    real = landing._publish

    def die_on_second_file(tmp, final):
        if final.suffix == ".parquet":
            published.append(final)
        if len(published) == 2:
            raise KeyboardInterrupt("kill -9")
        real(tmp, final)

    monkeypatch.setattr(landing, "_publish", die_on_second_file)
    with pytest.raises(KeyboardInterrupt):
        run_stream(GeneratorSource(generator, rate=0, limit=2000, max_batch=2000), cfg)
    monkeypatch.setattr(landing, "_publish", real)
    assert len(landed(cfg)) > 0  # one day's file of the batch is visible (acknowledged)
    stats = run_stream(GeneratorSource(generator, rate=0, limit=1, max_batch=2000), cfg)
    assert stats.recovered_batch
    ids = [r[0] for r in landed(cfg)]
    assert len(ids) == len(set(ids))
    assert set(ids) == expected_ids(generator, 0, 2001)


def test_repeated_delivery_from_an_external_producer_is_idempotent(cfg):
    cfg = dataclasses.replace(cfg, flush_seconds=0.1)
    lines = b"".join(
        json.dumps(e).encode() + b"\n"
        for e in EventGenerator(10).emit(0, 3000, time.time() - 60, time.time())
    )
    first = run_stream(StdinSource(io.BytesIO(lines)), cfg, progress=None)
    assert (first.accepted, first.rejected) == (3000, 0)
    again = run_stream(StdinSource(io.BytesIO(lines)), cfg, progress=None)
    assert (again.accepted, again.reasons["duplicate_event_id"]) == (0, 3000)
    ids = [r[0] for r in landed(cfg)]
    assert len(ids) == len(set(ids)) == 3000


def test_a_file_source_resumes_at_its_byte_offset(cfg, tmp_path):
    path = tmp_path / "events.jsonl"
    events = EventGenerator(12).emit(0, 1500, time.time() - 60, time.time())
    path.write_text("".join(json.dumps(e) + "\n" for e in events[:1000]) + '{"event_id": ')
    first = run_stream(FileSource(path, max_batch=300), cfg, progress=None)
    assert (first.accepted, first.batches) == (1000, 4)  # the partial last line waits
    with path.open("a") as handle:  # the producer finishes its line, then appends more
        handle.write('"x"}\n' + "".join(json.dumps(e) + "\n" for e in events[1000:]))
    second = run_stream(FileSource(path, max_batch=300), cfg, progress=None)
    assert (second.accepted, second.rejected) == (500, 1)
    assert second.reasons == {"missing_field": 1}  # the completed line, not valid
    assert len(landed(cfg)) == 1500


def test_two_streamers_of_one_source_are_refused(cfg):
    with landing.source_lock(cfg, "gen-s1"), pytest.raises(AdwError, match="another"):
        run_stream(GeneratorSource(EventGenerator(1), rate=0, limit=10), cfg)


def test_readers_never_see_a_partial_batch_while_the_stream_writes(cfg):
    """Concurrent DuckDB reads of the landing zone: no error, counts only grow."""
    import duckdb

    stop = threading.Event()
    source = GeneratorSource(EventGenerator(13), rate=5000)
    thread = threading.Thread(target=run_stream, args=(source, cfg), kwargs={"stop": stop})
    cfg.ensure_dirs()
    thread.start()
    counts, deadline = [], time.monotonic() + 3
    try:
        with duckdb.connect() as con:
            while time.monotonic() < deadline:
                if list(cfg.landing_dir.glob("*/*.parquet")):
                    counts.append(
                        con.execute(
                            "select count(*) from read_parquet(?)", [cfg.landing_glob]
                        ).fetchone()[0]
                    )
    finally:
        stop.set()
        thread.join()
    assert len(counts) > 10 and counts[-1] > 0
    assert counts == sorted(counts)


def test_burst_lands_clean_events_within_the_lookback(cfg):
    result = burst(n_events=1500, seed=3)
    assert (result["accepted"], result["rejected"]) == (1500, 0)
    again = burst(n_events=500, seed=3)  # continues the sequence: new events
    assert again["resumed_at_seq"] == 1500
    rows = landed(cfg, "event_id, timestamp")
    assert len({r[0] for r in rows}) == 2000
    oldest = min(r[1] for r in rows)
    assert (datetime.now(UTC) - oldest).total_seconds() < cfg.lookback_seconds


def test_a_restarted_validator_remembers_the_ids_just_before_the_restart(cfg):
    """More landed ids than the window: the oldest are forgotten, never the newest (the
    kill -9 test once saw a redelivery of a just-landed event accepted after a restart)."""
    generator = EventGenerator(6)
    run_stream(GeneratorSource(generator, rate=0, limit=4000, max_batch=1000), cfg)
    recent = landing.recent_event_ids(cfg, limit=2500)
    assert len(recent) == 3000  # whole files, newest first, until the limit is reached
    validator = Validator(lookback_seconds=None, seen_window=2500)
    validator.remember(recent)
    now = time.time()
    newest = generator.emit(3999, 1, now - 1, now)
    oldest_kept = generator.emit(1500, 1, now - 1, now)
    assert [d.reason for d in validator.validate(newest, now=now).dead] == ["duplicate_event_id"]
    assert [d.reason for d in validator.validate(oldest_kept, now=now).dead] == [
        "duplicate_event_id"
    ]
    forgotten = generator.emit(1000, 1, now - 1, now)  # beyond the window: accepted again
    assert validator.validate(forgotten, now=now).accepted == 1
