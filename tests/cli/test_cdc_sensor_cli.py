"""The continuous CDC mode end to end, as a user runs it: `adw replicate --cdc-setup`, `adw
build`, then `adw replicate --follow` as a process; a new order committed in the source; the sensor
`cdc_changes_applied_sensor` evaluated on the Dagster instance of ADW_HOME and the run it
requests executed in process (as `adw build` runs `elt_job`: the same job, pools and
instance); the order is in `rpt_order_status` and in the dashboard snapshot."""

from __future__ import annotations

import time
from datetime import date

import dagster as dg
import psycopg
import pytest

from adw_assets.lib.replication import cdc_slot
from adw_assets.lib.source.seed import seed_database
from adw_assets.lib.source.server import dsn_with_user
from adw_assets.lib.source.simulate import simulate
from adw_assets.settings import CDC_ROLE, get_settings
from tests.cli.test_build_cli import adw
from tests.cli.test_cdc_deletes_cli import source_orders
from tests.dbt.dbt_chain import module_database, quiet
from tests.lib.replication.test_cdc_follow import Follow, _retry_locked
from tests.support.live_dagster import adw_env

pytestmark = pytest.mark.slow

SENSOR = "cdc_changes_applied_sensor"


def _read(path, sql: str) -> list[tuple]:
    import duckdb

    def once():
        with duckdb.connect(str(path), read_only=True) as con:
            return con.execute(sql).fetchall()

    return _retry_locked(once)


def _tick_and_run(defs, instance, cursor, timeout: float = 60.0):
    """Evaluate the sensor until it requests a run (as the daemon does every few seconds),
    then execute that run in process; (the run's summary, the tick's result)."""
    from adw_assets.cli import pipeline

    sensor = defs.resolve_sensor_def(SENSOR)
    deadline = time.monotonic() + timeout
    while True:
        tick = sensor(dg.build_sensor_context(instance=instance, cursor=cursor, definitions=defs))
        if tick.run_requests:
            break
        assert time.monotonic() < deadline, tick.skip_reason
        time.sleep(0.5)
    [request] = tick.run_requests
    job = pipeline.requested_job(defs, sensor.job_name, request)
    return pipeline.run(job, command="cdc-sensor", quiet=True), tick


def test_a_new_order_reaches_rpt_order_status_and_the_snapshot_through_the_sensor(
    pg_cluster, tmp_path, monkeypatch
):
    home = tmp_path / "home"
    with module_database(pg_cluster) as dsn:
        seed_database(dsn, scale=0.05, seed=8, today=date(2025, 6, 1), progress=quiet)
        with psycopg.connect(dsn, autocommit=True) as conn:
            cdc_slot.ensure_cdc_role(conn, connection_limit=8)
        env = adw_env(home, dsn)
        env.update(
            ADW_REPLICATION_METHOD="cdc", ADW_REPLICATION_CDC_DSN=dsn_with_user(dsn, CDC_ROLE)
        )
        follow = None
        try:
            adw(env, "replicate", "--cdc-setup")  # the publication, slot and initial snapshot
            adw(env, "build", "--no-answers")  # the warehouse built once (web models included)
            follow = Follow(env)
            follow.wait_for("following the source's changes")
            assert "Dagster run" not in follow.stderr  # it resumes from the slot
            for name, value in env.items():  # this process is the daemon's stand-in
                if name.startswith("ADW_") or name == "DAGSTER_HOME":
                    monkeypatch.setenv(name, value)
            get_settings.cache_clear()
            from adw_assets.cli import pipeline

            defs = pipeline.load_definitions()
            with dg.DagsterInstance.get() as instance:
                # the follower's first progress: the snapshot, new to every table
                first, tick = _tick_and_run(defs, instance, None)
                assert first.success, first.errors
                assert len(tick.asset_events) == 12
                cursor = tick.cursor

                before = set(source_orders(dsn))
                simulate(dsn, orders=1, updates=0, seed=11, progress=quiet)
                [new_order] = set(source_orders(dsn)) - before
                started = time.monotonic()
                run, tick = _tick_and_run(defs, instance, cursor)
                assert run.success, run.errors
                seconds = time.monotonic() - started
                changed = {e.asset_key.path[-1] for e in tick.asset_events}
                assert {"salesorderheader", "salesorderdetail"} <= changed
                assert "marts/rpt_order_status" in run.materialized
                # recorded in the instance: the replicated tables' materializations
                header = dg.AssetKey(["raw_sales", "salesorderheader"])
                assert instance.get_latest_materialization_event(header) is not None
        finally:
            if follow is not None:
                code, _out = follow.stop()
                assert code == 0, follow.stderr
            cdc_slot.teardown(dsn)

        warehouse = home / "warehouse.duckdb"
        per_status: dict[int, int] = {}
        for status in source_orders(dsn).values():
            per_status[status] = per_status.get(status, 0) + 1
        counts = _read(warehouse, "select status_code, order_count from marts.rpt_order_status")
        assert {s: n for s, n in counts if n} == per_status
        facts = _read(warehouse, "select sales_order_id from marts.fct_orders")
        assert (new_order,) in facts
        snapshot = home / "serving" / "snapshot.duckdb"
        in_snapshot = _read(snapshot, "select sales_order_id from marts.fct_orders")
        assert (new_order,) in in_snapshot
        assert seconds < 60, seconds  # the end-to-end bound, on this small data set
