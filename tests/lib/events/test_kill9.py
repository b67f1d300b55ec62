"""kill -9 of `adw events stream` at random moments: no acknowledged event is lost, none is
duplicated downstream, and the final set is exactly what the generator says is valid."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from adw_assets.lib.events.generator import EventGenerator
from adw_assets.lib.events.landing import read_checkpoint
from tests.lib.events.conftest import landed

ADW = Path(sys.executable).parent / "adw"
SEED, BAD_RATIO, KILLS = 31, 0.02, 6


def _stream(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [str(ADW), "events", "stream", "--seed", str(SEED), "--bad-ratio", str(BAD_RATIO), *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


@pytest.mark.slow
@pytest.mark.skipif(not ADW.exists(), reason=f"the adw command is not installed at {ADW}")
def test_kill_9_at_random_points_loses_and_duplicates_nothing(cfg, monkeypatch):
    monkeypatch.setenv("ADW_EVENTS_FLUSH_SECONDS", "0.2")  # many batches: kills land inside one
    rng = random.Random(int(os.environ.get("ADW_TEST_KILL_SEED", time.time())))
    acknowledged: set[str] = set()
    killed_mid_batch = 0
    for _ in range(KILLS):
        proc = _stream("--rate", "60000", "-q")
        for line in proc.stderr:  # wait until it streams, then kill it at a random point
            if line.startswith("streaming"):
                break
        else:
            pytest.fail(f"adw events stream did not start (exit {proc.wait()})")
        time.sleep(rng.uniform(0.2, 2.5))
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        proc.stderr.close()
        ids = [r[0] for r in landed(cfg)]
        assert len(ids) == len(set(ids)), "a batch was duplicated"
        assert acknowledged <= set(ids), "an acknowledged event was lost"
        acknowledged = set(ids)
        checkpoint = read_checkpoint(cfg, f"gen-s{SEED}")
        killed_mid_batch += bool(checkpoint and checkpoint.pending)
    final = _stream("--rate", "1000", "--duration", "0.5")
    _, err = final.communicate(timeout=120)
    assert final.returncode == 0, err
    checkpoint = read_checkpoint(cfg, f"gen-s{SEED}")
    assert checkpoint.pending is None and checkpoint.next_seq > 0
    ids = [r[0] for r in landed(cfg)]
    assert len(ids) == len(set(ids))
    assert acknowledged <= set(ids)
    generator = EventGenerator(SEED, bad_ratio=BAD_RATIO)
    n = checkpoint.next_seq
    events = generator.emit(0, n, 0.0, 1.0)
    expected = {
        e["event_id"] for seq, e in enumerate(events) if generator.expected_reason(seq) is None
    }
    assert set(ids) == expected
    print(f"{KILLS} kills ({killed_mid_batch} inside a batch), {n:,} events, {len(ids):,} landed")
