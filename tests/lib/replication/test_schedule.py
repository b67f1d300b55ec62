"""The stream scheduler: parallel workers, every stream once, errors after the others."""

from __future__ import annotations

import threading
import time

import pytest

from adw_assets.lib.replication.schedule import run_streams


def test_streams_run_on_the_workers_side_by_side_each_once():
    running: set[str] = set()
    peak, started = [], []
    lock = threading.Lock()

    def work(name: str) -> str:
        with lock:
            running.add(name)
            started.append(name)
            peak.append(len(running))
        time.sleep(0.05 if name.startswith("big") else 0.01)
        with lock:
            running.discard(name)
        return name.upper()

    names = ["big1", "big2", "big3"] + [f"small{i}" for i in range(6)]
    results = run_streams(names, work, workers=2)
    assert results == {n: n.upper() for n in names}
    assert sorted(started) == sorted(names)  # each once
    assert set(started[:2]) == {"big1", "big2"}  # in the order given: largest first
    assert max(peak) == 2


def test_an_exception_surfaces_after_the_other_streams_finish():
    done = []

    def work(name: str) -> str:
        if name == "bad":
            raise RuntimeError("boom")
        done.append(name)
        return name

    with pytest.raises(RuntimeError, match="boom"):
        run_streams(["bad", "a", "b"], work, workers=2)
    assert sorted(done) == ["a", "b"]
