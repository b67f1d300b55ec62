"""Crashes and outages: kill -9 at chosen and random points, an unreachable source."""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
import uuid

import psycopg
import pytest

from adw_assets.lib.replication import DuckDBDestination, replicate, replicate_from_settings
from adw_assets.lib.replication.faults import MARKER
from adw_assets.lib.source.catalog import TABLES_BY_NAME
from adw_assets.lib.source.simulate import simulate
from adw_assets.settings import get_settings
from tests.lib.replication.fixtures import (
    duplicate_keys,
    execute,
    mismatches,
    query,
)

RUN_ENGINE = (
    "import sys\n"
    "from adw_assets.lib.replication import replicate_from_settings, stderr_progress\n"
    "from adw_assets.settings import get_settings\n"
    "full = sys.argv[1] == 'full'\n"
    "r = replicate_from_settings(get_settings(), full_refresh=full, progress=stderr_progress)\n"
    "sys.exit(0 if r.ok else 1)\n"
)


def _start(pause: str | None, full: bool = False) -> subprocess.Popen:
    env = dict(os.environ, ADW_REPLICATION_BATCH_ROWS="300", PYTHONUNBUFFERED="1")
    env.pop("ADW_TEST_PAUSE_AT", None)
    if pause:
        env["ADW_TEST_PAUSE_AT"] = pause
    return subprocess.Popen(
        [sys.executable, "-c", RUN_ENGINE, "full" if full else "incremental"],
        env=env,
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )


def _wait_for(proc: subprocess.Popen, needle: str, timeout: float = 90) -> str:
    """Read the child's stderr until a line contains ``needle``; return that line."""
    found: list[str] = []
    seen: list[str] = []

    def pump() -> None:
        for line in proc.stderr:
            seen.append(line)
            if needle in line:
                found.append(line)
                return

    t = threading.Thread(target=pump, daemon=True)
    t.start()
    t.join(timeout)
    if not found:
        proc.kill()
        raise AssertionError(f"{needle!r} never appeared; stderr:\n{''.join(seen)[-3000:]}")
    return found[0]


def _kill(proc: subprocess.Popen) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL


def _kill_if_running(proc: subprocess.Popen) -> None:
    """SIGKILL at a random moment. The child may finish first, even between a check and the
    signal: a clean exit is then a trial without a kill, any other exit a failure."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGKILL)
    proc.wait(30)
    assert proc.returncode in (0, -signal.SIGKILL), proc.returncode


def _state_agrees_with_data(wh) -> None:
    """After a crash: every stream's saved cursor is the newest row of its final table."""
    rows = query(wh, "select namespace, name, cursor_value from airbyte_internal._adw_state")
    for namespace, name, cursor in rows:
        top = query(wh, f"select max(modifieddate) from {namespace}.{name}")[0][0]
        assert top == cursor, (namespace, name, top, cursor)


@pytest.mark.slow
def test_kill_9_at_any_point_then_rerun_gives_an_exact_copy(replica_source, adw_home):
    wh = adw_home / "warehouse.duckdb"
    rng = random.Random(20260115)
    trials = [
        ("batch_written@salesorderdetail", False),  # mid-stream, between batches
        ("batch_read@person", False),  # a batch read, not written
        ("before_state@customer", False),  # data written, state not yet
        ("before_commit@salesorderheader", False),  # state written, not committed
        ("after_commit@address", False),  # between two streams
        ("stream_start@salesorderdetail", True),  # full refresh, transaction just opened
        (None, True),  # random moments during a full refresh
        (None, False),
    ]
    for n, (pause, full) in enumerate(trials):
        if n:
            simulate(replica_source, orders=15, updates=40, seed=n, progress=lambda m: None)
        proc = _start(pause, full)
        if pause:
            _wait_for(proc, MARKER)
            _kill(proc)
        else:
            _wait_for(proc, "] ")  # the engine is running: a first stream finished
            time.sleep(rng.uniform(0.0, 0.4))
            _kill_if_running(proc)
        _state_agrees_with_data(wh)
        result = replicate_from_settings(get_settings())
        assert result.ok, result.failed
        assert mismatches(replica_source, wh) == {}, f"trial {n} ({pause})"
        assert duplicate_keys(wh) == {}
    gens = query(wh, "select max(generation_id) from airbyte_internal._adw_state")[0][0]
    assert gens >= 1  # at least one killed full refresh was redone


@pytest.fixture
def login_role(replica_source):
    """A private login role with read access, that a test may lock out and terminate."""
    role = f"repl_{uuid.uuid4().hex[:8]}"
    execute(
        replica_source,
        f"create role {role} login",
        f"grant usage on schema person, production, sales to {role}",
        f"grant select on all tables in schema person, production, sales to {role}",
    )
    from adw_assets.lib.source.server import dsn_with_user

    yield role, dsn_with_user(replica_source, role)
    execute(replica_source, f"drop owned by {role}")
    with psycopg.connect(replica_source, autocommit=True) as conn:
        conn.execute(
            f"select pg_terminate_backend(pid) from pg_stat_activity where usename = '{role}'"
        )
        conn.execute(f"drop role if exists {role}")


def _cut_off(owner_dsn: str, role: str, lock_out: bool) -> None:
    with psycopg.connect(owner_dsn, autocommit=True) as conn:
        if lock_out:
            conn.execute(f"alter role {role} nologin")
        conn.execute(
            "select pg_terminate_backend(pid) from pg_stat_activity where usename = %s", (role,)
        )


def test_source_lost_mid_run_retries_with_backoff_and_advances_no_state(
    replica_source, login_role, adw_home
):
    role, dsn = login_role
    wh = adw_home / "warehouse.duckdb"
    replicate(dsn, DuckDBDestination(wh))
    simulate(replica_source, orders=10, updates=20, seed=1, progress=lambda m: None)
    state_before = dict(query(wh, "select name, sync_id from airbyte_internal._adw_state"))
    events = []

    def progress(event) -> None:
        events.append(event)
        if event.phase == "done" and event.streams_done == 1:
            _cut_off(replica_source, role, lock_out=True)

    started = time.perf_counter()
    result = replicate(
        dsn, DuckDBDestination(wh), workers=1, retries=2, backoff_seconds=0.1, progress=progress
    )
    elapsed = time.perf_counter() - started
    assert not result.ok
    ok, failed = [s for s in result.streams if s.ok], result.failed
    assert len(ok) == 1 and len(failed) == 11
    first = failed[0] if failed[0].attempts == 3 else next(s for s in failed if s.attempts == 3)
    assert (
        "unreachable after 3 attempt(s)" in first.error and "No state was advanced" in first.error
    )
    retries = [e for e in events if e.phase == "retry"]
    assert [e.message.split("retry in ")[1] for e in retries[:2]] == ["0.1 s)", "0.2 s)"]
    assert elapsed >= 0.3
    state_after = dict(query(wh, "select name, sync_id from airbyte_internal._adw_state"))
    for s in failed:
        assert state_after[s.table] == state_before[s.table], s.stream
    # the stream that finished kept or advanced its state (it commits only when it changed)
    assert state_after[ok[0].table] in (state_before[ok[0].table], state_before[ok[0].table] + 1)

    execute(replica_source, f"alter role {role} login")
    assert replicate(dsn, DuckDBDestination(wh)).ok
    assert mismatches(replica_source, wh) == {}


def test_a_dropped_connection_is_retried_and_the_run_completes(
    replica_source, login_role, adw_home
):
    role, dsn = login_role
    wh = adw_home / "warehouse.duckdb"
    cut = []

    def progress(event) -> None:
        if event.phase == "done" and not cut:  # the worker's connection dies between streams
            cut.append(event.stream)
            _cut_off(replica_source, role, lock_out=False)

    streams = ["sales.creditcard", "sales.salesorderdetail"]
    result = replicate(dsn, DuckDBDestination(wh), streams=streams, workers=1, backoff_seconds=0.05,
                       progress=progress)  # fmt: skip
    assert cut and result.ok
    assert sorted(s.attempts for s in result.streams) == [1, 2]
    tables = [TABLES_BY_NAME[s] for s in streams]
    assert mismatches(replica_source, wh, tables=tables) == {}


def test_an_unreachable_source_fails_fast_with_a_clear_error(adw_home):
    from adw_assets.errors import SourceError

    dead = f"postgresql://nobody@/nowhere?host={adw_home}/no-socket-here"
    started = time.perf_counter()
    with pytest.raises(SourceError, match="after 3 attempt") as err:
        replicate(dead, DuckDBDestination(adw_home / "w.duckdb"), retries=2, backoff_seconds=0.05)
    assert time.perf_counter() - started >= 0.15
    assert "adw source status" in str(err.value)
    assert not (adw_home / "w.duckdb").exists()
