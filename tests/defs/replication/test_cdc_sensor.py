"""The continuous CDC mode's sensor, evaluated against a real follower's progress: a real
PostgreSQL slot, the follower applying into DuckDB and writing its progress file, the code
location's sensor and job."""

from __future__ import annotations

import json
import threading
import time

import dagster as dg
import pytest

from adw_assets.lib.replication import DuckDBDestination, cdc_progress, cdc_slot, replicate
from adw_assets.lib.replication.cdc_follow import Follower
from adw_assets.lib.source.simulate import simulate
from tests.lib.replication.fixtures import execute
from tests.lib.replication.test_cdc import cdc_dsn
from tests.support.dagster import definitions

SENSOR = "cdc_changes_applied_sensor"
ORDER_STATUS = dg.AssetKey(["marts", "rpt_order_status"])
SNAPSHOT = dg.AssetKey(["dashboard", "snapshot"])


@pytest.fixture
def cdc_source(replica_source, monkeypatch) -> str:
    cdc_slot.setup(replica_source, superuser_role=True, connection_limit=8)
    monkeypatch.setenv("ADW_REPLICATION_CDC_DSN", cdc_dsn(replica_source))
    yield replica_source
    cdc_slot.teardown(replica_source)


class Following:
    """A real follower on a thread, writing the progress file of ``home``."""

    def __init__(self, owner: str, home) -> None:
        self.applied = threading.Event()
        self.follower = Follower(
            cdc_dsn(owner),
            DuckDBDestination(home / "warehouse.duckdb"),
            poll_seconds=0.05,
            progress=cdc_progress.progress_path(home),
        )
        self.thread = threading.Thread(
            target=self.follower.run, kwargs={"on_batch": lambda _b: self.applied.set()}
        )
        self.thread.start()

    def wait(self, timeout: float = 30.0) -> None:
        assert self.applied.wait(timeout), "the follower applied nothing"
        self.applied.clear()

    def stop(self) -> None:
        self.follower.stop()
        self.thread.join(30)


def _tick(defs: dg.Definitions, instance: dg.DagsterInstance, cursor: str | None):
    sensor = defs.resolve_sensor_def(SENSOR)
    context = dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs)
    return sensor(context)


def test_the_sensor_requests_what_is_downstream_of_the_tables_the_follower_changed(
    cdc_source, adw_home, monkeypatch
):
    instance = dg.DagsterInstance.ephemeral()
    defs = definitions()  # cursor mode: the sensor says why it does nothing
    result = _tick(defs, instance, None)
    said = result.skip_reason.skip_message
    assert not result.run_requests and "ADW_REPLICATION_METHOD is cursor" in said

    monkeypatch.setenv("ADW_REPLICATION_METHOD", "cdc")
    defs = definitions()
    result = _tick(defs, instance, None)
    assert not result.run_requests and "has not run" in result.skip_reason.skip_message

    path = adw_home / "warehouse.duckdb"
    replicate(cdc_dsn(cdc_source), DuckDBDestination(path), method="cdc", retries=0)
    following = Following(cdc_source, adw_home)
    try:
        deadline = time.monotonic() + 30  # the follower writes its progress when it starts
        while not cdc_progress.progress_path(adw_home).exists():
            assert time.monotonic() < deadline
            time.sleep(0.05)
        # first tick: the snapshot is new data for every table
        first = _tick(defs, instance, None)
        [request] = first.run_requests
        job = defs.resolve_job_def("cdc_changes_job")
        assert set(request.asset_selection) == set(job.asset_layer.executable_asset_keys)
        assert {ORDER_STATUS, SNAPSHOT} <= set(request.asset_selection)
        assert len(first.asset_events) == 12
        assert {e.asset_key.path[0] for e in first.asset_events} == {
            "raw_person", "raw_production", "raw_sales"
        }  # fmt: skip
        cursor = first.cursor

        nothing = _tick(defs, instance, cursor)  # nothing new: skip, cursor kept
        assert not nothing.run_requests and "nothing applied" in nothing.skip_reason.skip_message
        assert nothing.cursor is None

        # one table changes: only it is materialized, and only what reads it is rebuilt
        execute(
            cdc_source,
            "update sales.creditcard set expyear = expyear + 1 "
            "where creditcardid = (select min(creditcardid) from sales.creditcard)",
        )
        following.wait()
        cards = _tick(defs, instance, cursor)
        [request] = cards.run_requests
        assert [e.asset_key for e in cards.asset_events] == [
            dg.AssetKey(["raw_sales", "creditcard"])
        ]
        selected = {k.path[-1] for k in request.asset_selection}
        assert {"stg_sales__credit_cards", "dim_credit_cards"} <= selected
        assert "stg_production__products" not in selected
        assert int(cards.cursor) > int(cursor)
        checks = {c.asset_key for c in request.asset_check_keys}
        assert checks and checks <= set(request.asset_selection)

        # a new order: the orders and their lines, down to rpt_order_status and the snapshot
        simulate(cdc_source, orders=1, updates=0, seed=5, progress=lambda _m: None)
        following.wait()
        order = _tick(defs, instance, cards.cursor)
        [request] = order.run_requests
        changed = {e.asset_key.path[-1] for e in order.asset_events}
        assert {"salesorderheader", "salesorderdetail"} <= changed
        assert "creditcard" not in changed
        assert {ORDER_STATUS, SNAPSHOT} <= set(request.asset_selection)
        assert request.run_key != cards.run_requests[0].run_key
        written = json.loads(cdc_progress.progress_path(adw_home).read_text())
        assert order.cursor == str(written["lsn"])
    finally:
        following.stop()


def test_the_sensor_waits_while_two_runs_are_in_flight(cdc_source, adw_home, monkeypatch):
    """Builds slower than the changes: at most two runs of the job (one building, one waiting
    for the pool); the tick keeps its cursor, so the next run takes every change since."""
    monkeypatch.setenv("ADW_REPLICATION_METHOD", "cdc")
    defs = definitions()
    instance = dg.DagsterInstance.ephemeral()
    cdc_progress.write(cdc_progress.progress_path(adw_home), {"sales.salesorderheader": 100})
    job = defs.resolve_job_def("cdc_changes_job")
    for _ in range(2):
        instance.create_run_for_job(job, status=dg.DagsterRunStatus.STARTED)
    waiting = _tick(defs, instance, "50")
    said = waiting.skip_reason.skip_message
    assert not waiting.run_requests and "2 runs of cdc_changes_job in flight" in said
    assert waiting.cursor is None
    for run in instance.get_runs():
        instance.report_run_failed(run)
    [request] = _tick(defs, instance, "50").run_requests
    assert ORDER_STATUS in request.asset_selection


def test_a_damaged_progress_file_is_one_line_saying_what_to_do(adw_home, monkeypatch):
    monkeypatch.setenv("ADW_REPLICATION_METHOD", "cdc")
    path = cdc_progress.progress_path(adw_home)
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    result = _tick(definitions(), dg.DagsterInstance.ephemeral(), None)
    assert not result.run_requests
    said = result.skip_reason.skip_message
    assert str(path) in said and "delete it" in said and "\n" not in said
