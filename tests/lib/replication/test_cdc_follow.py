"""``adw replicate --follow`` (continuous CDC) and the slot-lag checks, against a real
PostgreSQL, DuckDB and Dagster, through the command a user types."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import psycopg
import pytest

from adw_assets.lib.replication import DuckDBDestination, cdc_slot, replicate
from adw_assets.lib.source.simulate import simulate
from tests.lib.replication.fixtures import duplicate_keys, execute, mismatches, query
from tests.lib.replication.test_cdc import _raw_versions_held_twice, cdc_dsn

ADW = str(Path(sys.executable).parent / "adw")


@pytest.fixture
def cdc_source(replica_source) -> str:
    cdc_slot.setup(replica_source, superuser_role=True, connection_limit=8)
    yield replica_source
    cdc_slot.teardown(replica_source)


@pytest.fixture
def cdc_env(cdc_source, adw_home) -> dict:
    """CDC, with the raw history kept (off by default): the tests check each version once."""
    return {**os.environ, "ADW_REPLICATION_METHOD": "cdc", "ADW_REPLICATION_RAW_HISTORY": "true",
            "ADW_REPLICATION_CDC_DSN": cdc_dsn(cdc_source)}  # fmt: skip


class Follow:
    """``adw replicate --follow`` in a subprocess; its stderr read on a thread."""

    def __init__(self, env: dict, *args: str) -> None:
        self.proc = subprocess.Popen(
            [ADW, "replicate", "--follow", *args], env=env, text=True,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        self.err: list[str] = []
        self.thread = threading.Thread(target=self._read, daemon=True)
        self.thread.start()

    def _read(self) -> None:
        for line in self.proc.stderr:
            self.err.append(line)

    def wait_for(self, text: str, timeout: float = 240.0) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.err):
            assert self.proc.poll() is None or any(text in x for x in self.err), self.stderr
            assert time.monotonic() < deadline, f"no {text!r} in:\n{self.stderr}"
            time.sleep(0.05)

    @property
    def stderr(self) -> str:
        return "".join(self.err)

    def stop(self, sig=signal.SIGTERM, timeout: float = 60.0) -> tuple[int, str]:
        self.proc.send_signal(sig)
        out = self.proc.stdout.read()
        code = self.proc.wait(timeout)
        self.thread.join(5)
        return code, out


def _retry_locked(fn, *args, timeout: float = 30.0):
    """Read the warehouse between the follower's micro-batches (it holds the lock while it
    applies one)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return fn(*args)
        except duckdb.IOException:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.02)


def _until_equal(owner: str, path: Path, timeout: float) -> float:
    """Seconds until every warehouse table equals the source."""
    started = time.monotonic()
    while _retry_locked(mismatches, owner, path):
        assert time.monotonic() - started < timeout, _retry_locked(mismatches, owner, path)
        time.sleep(0.1)
    return time.monotonic() - started


def test_follow_applies_changes_in_seconds_and_sigterm_then_restart_loses_nothing(
    cdc_source, cdc_env, adw_home
):
    """`adw replicate --follow`: snapshot, then inserts, updates and deletes land within
    seconds; SIGTERM stops it cleanly (exit 0, summary); changes committed while stopped and
    during the stop are applied once by the restart."""
    path = adw_home / "warehouse.duckdb"
    follow = Follow({**cdc_env, "ADW_REPLICATION_CDC_POLL_SECONDS": "0.1"})
    follow.wait_for("following the source's changes")
    assert _retry_locked(mismatches, cdc_source, path) == {}  # the snapshot (Dagster run)
    simulate(cdc_source, orders=10, updates=20, deletes=6, seed=1, progress=lambda _m: None)
    assert _until_equal(cdc_source, path, timeout=15) < 15
    # changes committing while SIGTERM arrives: the batch in flight is committed and acked
    writer = threading.Thread(
        target=simulate, args=(cdc_source,),
        kwargs={"orders": 30, "updates": 30, "deletes": 9, "seed": 2, "progress": lambda m: 0},
    )  # fmt: skip
    writer.start()
    time.sleep(0.3)
    code, out = follow.stop()
    writer.join()
    assert code == 0, follow.stderr
    assert "follow stopped:" in out and "changes/s" in out, out
    assert "Traceback" not in follow.stderr
    with psycopg.connect(cdc_source) as conn:  # acknowledged, and no session holds the slot
        active = conn.execute("select active from pg_replication_slots").fetchone()[0]
        assert active is False
    simulate(cdc_source, orders=5, updates=10, deletes=6, seed=3, progress=lambda _m: None)
    again = Follow(cdc_env)
    again.wait_for("following the source's changes")
    assert "Dagster run" not in again.stderr  # resumed from the slot, no new snapshot
    _until_equal(cdc_source, path, timeout=30)
    code, _out = again.stop(signal.SIGINT)  # Ctrl-C stops it the same way
    assert code == 0, again.stderr
    assert mismatches(cdc_source, path) == {}
    assert duplicate_keys(path) == {}
    assert _raw_versions_held_twice(path) == {}
    generations = query(path, "select distinct generation_id from airbyte_internal._adw_state")
    assert generations == [(0,)]


def test_follow_waits_while_another_session_holds_the_slot(cdc_source, cdc_env, adw_home):
    """PostgreSQL lets one session use a slot at a time, and the slot-lag check peeks it too
    (a bench run's lag read stopped `--follow` so): while another session holds it, the
    follower's read or acknowledgement is refused with ObjectInUse. The follower waits for the
    next poll instead of exiting, and every change lands once when the slot is free."""
    path = adw_home / "warehouse.duckdb"
    follow = Follow({**cdc_env, "ADW_REPLICATION_CDC_POLL_SECONDS": "0.05"})
    follow.wait_for("following the source's changes")
    # a walsender streaming from the slot holds it until its connection closes
    holder = psycopg.connect(cdc_dsn(cdc_source), replication="database", autocommit=True)
    try:
        holder.execute("START_REPLICATION SLOT adw_cdc LOGICAL 0/0 "
                       "(proto_version '1', publication_names 'adw_cdc')")  # fmt: skip
        simulate(cdc_source, orders=10, updates=20, deletes=6, seed=1, progress=lambda _m: None)
        time.sleep(1.0)  # about 20 polls refused
        assert follow.proc.poll() is None, follow.stderr
    finally:
        holder.close()
    _until_equal(cdc_source, path, timeout=30)
    code, _out = follow.stop()
    assert code == 0, follow.stderr
    assert "Traceback" not in follow.stderr
    assert duplicate_keys(path) == {}
    assert _raw_versions_held_twice(path) == {}


def test_follow_reports_rate_and_lag_and_bounds_its_batches(cdc_source, tmp_path):
    """The loop (as the command runs it): a backlog larger than the batch cap is applied in
    several micro-batches, none above the cap; the report line gives changes/s and lag."""
    from adw_assets.lib.replication.cdc_follow import Follower

    path = tmp_path / "w.duckdb"
    replicate(cdc_dsn(cdc_source), DuckDBDestination(path), method="cdc", retries=0)
    with psycopg.connect(cdc_source) as conn:  # one transaction, above the cap
        cards = conn.execute("update sales.creditcard set expyear = expyear + 1").rowcount
    assert cards > 200
    follower = Follower(cdc_dsn(cdc_source), DuckDBDestination(path), batch_changes=200)
    batches, lines = [], []

    def on_batch(batch) -> None:
        batches.append(batch)
        if sum(b.changes for b in batches) >= cards:
            follower.stop()

    threading.Timer(60, follower.stop).start()  # a bound, should the loop never get there
    summary = follower.run(report=lines.append, report_seconds=0.0, on_batch=on_batch)
    assert summary.changes == cards
    # one source transaction is applied whole, even above the cap
    assert len(batches) == 1 and batches[0].changes == cards
    assert any("changes (" in line and "/s), lag p50" in line for line in lines), lines
    assert "MiB of WAL" in lines[0]
    assert mismatches(cdc_source, path) == {}
    # many small transactions: micro-batches of at most the cap
    follower = Follower(cdc_dsn(cdc_source), DuckDBDestination(path), batch_changes=300)
    with psycopg.connect(cdc_source, autocommit=True) as conn:
        for _ in range(400):
            conn.execute(
                "update sales.creditcard set modifieddate = now() "
                "where creditcardid = (select min(creditcardid) from sales.creditcard)"
            )
    batches.clear()

    def on_small(batch) -> None:
        batches.append(batch)
        if sum(b.changes for b in batches) >= 400:
            follower.stop()

    threading.Timer(60, follower.stop).start()
    follower.run(on_batch=on_small)
    assert sum(b.changes for b in batches) == 400
    assert len(batches) >= 2 and max(b.changes for b in batches) <= 300
    assert mismatches(cdc_source, path) == {}


@pytest.mark.slow  # 24 s at load 4: --follow, then a resync, as adw processes
def test_dropped_slot_stops_follow_with_the_resync_then_resync_recovers(cdc_source, cdc_env,
                                                                      adw_home):  # fmt: skip
    path = adw_home / "warehouse.duckdb"
    follow = Follow(cdc_env)
    follow.wait_for("following the source's changes")
    with psycopg.connect(cdc_source, autocommit=True) as conn:
        for _ in range(200):  # the follower holds the slot while it reads it
            try:
                conn.execute("select pg_drop_replication_slot('adw_cdc')")
                break
            except psycopg.errors.ObjectInUse:
                time.sleep(0.02)
    code = follow.proc.wait(30)
    follow.thread.join(5)
    errors = [line for line in follow.err if line.startswith("error")]
    assert code == 1, follow.stderr
    assert len(errors) == 1 and "was dropped" in errors[0], follow.stderr
    assert "adw replicate --full-refresh" in errors[0]
    assert "Traceback" not in follow.stderr
    execute(cdc_source, "delete from sales.salesorderdetail where salesorderdetailid = "
            "(select min(salesorderdetailid) from sales.salesorderdetail)")  # fmt: skip
    resync = subprocess.run([ADW, "replicate", "--full-refresh"], env=cdc_env,
                            capture_output=True, text=True, timeout=600)  # fmt: skip
    assert resync.returncode == 0, resync.stderr
    assert mismatches(cdc_source, path) == {}
    generations = query(path, "select distinct generation_id from airbyte_internal._adw_state")
    assert generations == [(1,)]


def _slot_lag(monkeypatch, table: str, **env: str):
    """The slot-lag check of ``raw_sales.<table>``, run by the code location's definitions."""
    import dagster as dg

    from tests.support.dagster import materialize

    for name, value in env.items():
        monkeypatch.setenv(name, value)
    result = materialize(checks_of=[dg.AssetKey(["raw_sales", table])])
    evaluations = {e.check_name: e for e in result.get_asset_check_evaluations()}
    return evaluations[f"{table}_cdc_slot_lag"]


def test_slot_lag_checks_warn_over_the_threshold_and_fail_on_a_dropped_slot(
    cdc_source, adw_home, monkeypatch
):
    import dagster as dg

    monkeypatch.setenv("ADW_REPLICATION_METHOD", "cdc")
    monkeypatch.setenv("ADW_REPLICATION_CDC_DSN", cdc_dsn(cdc_source))
    replicate(cdc_dsn(cdc_source), DuckDBDestination(adw_home / "warehouse.duckdb"),
              method="cdc", retries=0)  # fmt: skip
    quiet = _slot_lag(monkeypatch, "salesorderheader")
    assert quiet.passed and quiet.metadata["seconds_behind"].value == 0.0, quiet.metadata
    execute(cdc_source, "update sales.creditcard set expyear = expyear + 1")
    time.sleep(2.5)
    behind = _slot_lag(monkeypatch, "creditcard", ADW_REPLICATION_CDC_LAG_WARN_SECONDS="2",
                       ADW_REPLICATION_CDC_LAG_WARN_MB="1")  # fmt: skip
    meta = {k: v.value for k, v in behind.metadata.items()}
    assert not behind.passed and behind.severity == dg.AssetCheckSeverity.WARN, meta
    assert meta["seconds_behind"] >= 2.5 and meta["retained_wal_bytes"] > 0, meta
    assert re.search(r"committed \d+ s ago", behind.description), behind.description
    assert "adw replicate" in behind.description
    execute(cdc_source, *["update sales.creditcard set expyear = expyear + 1"] * 12)
    held = _slot_lag(monkeypatch, "creditcard", ADW_REPLICATION_CDC_LAG_WARN_SECONDS="3600")
    assert held.metadata["retained_wal_bytes"].value > 2**20
    assert not held.passed and "MiB of WAL" in held.description
    monkeypatch.setenv("ADW_REPLICATION_CDC_LAG_WARN_MB", "1024")
    caught_up = _slot_lag(monkeypatch, "creditcard")  # the defaults: 300 s, 1 GiB
    assert caught_up.passed
    with psycopg.connect(cdc_source, autocommit=True) as conn:
        conn.execute("select pg_drop_replication_slot('adw_cdc')")
    dropped = _slot_lag(monkeypatch, "salesorderheader")
    error = dropped.metadata["error"].value
    assert not dropped.passed and dropped.severity == dg.AssetCheckSeverity.ERROR
    assert "was dropped" in error and "adw replicate --full-refresh" in error


def test_slot_lag_checks_exist_only_in_cdc_mode(replica_source):
    from tests.support.dagster import definitions

    names = {k.name for k in definitions().resolve_asset_graph().asset_check_keys}
    assert "store_matches_source_row_count" in names
    assert not any(n.endswith("_cdc_slot_lag") for n in names)


def test_follow_needs_cdc_mode(adw_home):
    done = subprocess.run([ADW, "replicate", "--follow"], capture_output=True, text=True,
                          env=dict(os.environ), timeout=120)  # fmt: skip
    assert done.returncode == 1
    assert done.stderr.count("\n") == 1 and "ADW_REPLICATION_METHOD=cdc" in done.stderr
