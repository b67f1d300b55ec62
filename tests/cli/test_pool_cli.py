"""Every warehouse writer is queued: two adw commands that write the warehouse at once do not
fail on DuckDB's lock, the second waits in the Dagster pool ``warehouse``; and a writer killed
while it holds the pool does not keep the others waiting."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from adw_assets.cli import main
from adw_assets.lib.replication.faults import MARKER
from tests.lib.replication import fixtures

replica_source = fixtures.replica_source
seeded_template = fixtures.seeded_template

pytestmark = pytest.mark.slow
ADW = Path(sys.executable).with_name("adw")


def _start(*args: str, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [str(ADW), *args],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(proc: subprocess.Popen, marker: str, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stderr.readline()
        if marker in line:
            return
        if not line and proc.poll() is not None:
            raise AssertionError(f"exited {proc.returncode} before {marker!r}")
    raise AssertionError(f"no {marker!r} within {timeout} s")


def test_a_second_writer_waits_for_the_first_and_a_killed_holder_releases_it(
    replica_source, adw_home
):
    main(["replicate", "store", "customer"])  # the warehouse exists
    holder = _start("replicate", "--full-refresh", "store", ADW_TEST_PAUSE_AT="before_commit@store")
    try:
        _wait_for(holder, MARKER)  # holds the pool slot and DuckDB's write lock, mid-transaction
        waiter = _start("replicate", "customer")
        # it says it waits in the pool (awaited: a loaded machine takes long to get there) ...
        _wait_for(waiter, "the warehouse is busy")
        time.sleep(5)  # ... and keeps waiting, well past DuckDB's lock retries being needed
        assert waiter.poll() is None, waiter.communicate()
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
        killed_at = time.time()
    out, err = waiter.communicate(timeout=180)
    assert waiter.returncode == 0, err
    assert "lock" not in err.lower() and "raw_sales.customer" in out
    with dg.DagsterInstance.get() as instance:
        runs = {r.tags.get("adw/pid"): r for r in instance.get_runs()}
        killed = runs[str(holder.pid)]
        assert killed.status == dg.DagsterRunStatus.FAILURE
        waited = runs[str(waiter.pid)]
        assert waited.status == dg.DagsterRunStatus.SUCCESS
        # its replication step started only once the killed holder's slot was freed
        [step] = instance.get_run_step_stats(waited.run_id)
        assert step.step_key == "replicated_tables" and step.start_time >= killed_at - 0.5
        assert not instance.event_log_storage.get_concurrency_info("warehouse").claimed_slots
