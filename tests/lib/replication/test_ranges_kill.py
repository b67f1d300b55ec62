"""kill -9 in the middle of parallel range reads, then a re-run: nothing lost, nothing doubled."""

from __future__ import annotations

import random
import time

import pytest

from adw_assets.lib.replication import replicate_from_settings
from adw_assets.lib.replication.faults import MARKER
from adw_assets.lib.source.simulate import simulate
from adw_assets.settings import get_settings
from tests.lib.replication.fixtures import duplicate_keys, mismatches, query
from tests.lib.replication.test_reliability import (
    _kill,
    _kill_if_running,
    _start,
    _state_agrees_with_data,
    _wait_for,
)


@pytest.mark.slow
def test_kill_9_during_parallel_range_reads_then_rerun_gives_an_exact_copy(
    replica_source, adw_home, monkeypatch
):
    # every table is read in ranges by 3 readers, in 300-row batches (the child and re-runs)
    monkeypatch.setenv("ADW_REPLICATION_RANGE_READERS", "3")
    monkeypatch.setenv("ADW_REPLICATION_RANGE_MIN_MB", "0")
    get_settings.cache_clear()
    wh = adw_home / "warehouse.duckdb"
    rng = random.Random(20261207)
    trials = [  # (pause point, full refresh, re-run as a full refresh)
        ("range_read@salesorderdetail", True, True),  # first sync: a reader thread stopped
        ("range_read@salesorderheader", True, False),
        ("range_read@person", True, True),
        ("batch_read@salesorderdetail", True, False),  # the worker stopped, readers blocked
        ("batch_written@customer", True, False),
        ("before_commit@salesorderdetail", True, True),  # all ranges read, not committed
        (None, True, False),  # random moments during a full refresh
        (None, True, True),
        (None, True, False),
    ]
    for n, (pause, full, rerun_full) in enumerate(trials):
        if n:
            simulate(replica_source, orders=15, updates=40, seed=n, progress=lambda m: None)
        proc = _start(pause, full)
        if pause:
            line = _wait_for(proc, MARKER)
            assert pause.split("@")[0] in line
            _kill(proc)
        else:
            _wait_for(proc, "] ")  # the engine is running: a first stream finished
            time.sleep(rng.uniform(0.0, 0.5))
            _kill_if_running(proc)
        _state_agrees_with_data(wh)
        result = replicate_from_settings(get_settings(), full_refresh=rerun_full)
        assert result.ok, result.failed
        assert mismatches(replica_source, wh) == {}, f"trial {n} ({pause})"
        assert duplicate_keys(wh) == {}, f"trial {n} ({pause})"
        _state_agrees_with_data(wh)
    gens = query(wh, "select max(generation_id) from airbyte_internal._adw_state")[0][0]
    assert gens >= 3  # the re-runs' full refreshes committed new generations
