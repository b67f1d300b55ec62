"""The stream scheduler: parallel workers, never two heavy streams at once."""

from __future__ import annotations

import threading
import time

import pytest

from adw_assets.lib.replication.schedule import run_streams


def test_heavy_streams_never_overlap_while_light_ones_fill_the_other_worker():
    running: set[str] = set()
    overlaps, peak = [], []
    lock = threading.Lock()
    heavy = {"big1", "big2", "big3"}

    def work(name: str) -> str:
        with lock:
            running.add(name)
            if len(running & heavy) > 1:
                overlaps.append(set(running))
            peak.append(len(running))
        time.sleep(0.05 if name in heavy else 0.01)
        with lock:
            running.discard(name)
        return name.upper()

    names = ["big1", "big2", "big3"] + [f"small{i}" for i in range(6)]
    results = run_streams(names, work, workers=2, heavy=lambda n: n in heavy)
    assert results == {n: n.upper() for n in names}
    assert overlaps == []
    assert max(peak) == 2  # the light streams ran beside the heavy ones


def test_an_exception_surfaces_after_the_other_streams_finish():
    done = []

    def work(name: str) -> str:
        if name == "bad":
            raise RuntimeError("boom")
        done.append(name)
        return name

    with pytest.raises(RuntimeError, match="boom"):
        run_streams(["bad", "a", "b"], work, workers=2, heavy=lambda n: False)
    assert sorted(done) == ["a", "b"]
