"""Contract: the Kestra flows, run by the emulated Kestra, against a live Dagster webserver."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import psycopg
import pytest

from tests.kestra import dagster_runs
from tests.kestra.emulator import Execution, Kestra
from tests.kestra.faults import FlakyLaunches
from tests.kestra.flows import all_flows, secrets_for, with_subflow_inputs

pytestmark = pytest.mark.slow
ADW = str(Path(sys.executable).parent / "adw")
FAST_POLL = {"poll_interval": "PT1S"}


def _run(live, flow_id: str, url: str | None = None, **inputs: str) -> Execution:
    """An execution of the committed flow ``flow_id`` (Subflow inputs overridden)."""
    kestra = Kestra(all_flows().values(), secrets_for(url or live["url"]))
    flow = with_subflow_inputs(kestra.flows[("adw.analytics", flow_id)], **FAST_POLL, **inputs)
    return kestra.execute(flow)


def _dagster_run(execution: Execution) -> str:
    (child,) = execution.subflows
    return child.outputs["launch_run"]["runId"]


def _warehouse(live) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(live["home"] / "warehouse.duckdb"), read_only=True)


def _source_count(live, table: str) -> int:
    with psycopg.connect(live["dsn"]) as conn:
        return conn.execute(f"select count(*) from {table}").fetchone()[0]


def _why(live, execution: Execution) -> str:
    """The execution's failures and the failing steps of its Dagster run."""
    from adw_assets.lib.dagster_graphql import DagsterGraphQL

    runs = [c.outputs["launch_run"]["runId"] for c in execution.subflows if c.outputs]
    failures = [f for r in runs for f in DagsterGraphQL(live["url"]).failures(r)]
    return f"{execution.error}: {failures}"


def test_hourly_elt_flow_runs_elt_job_and_fills_the_warehouse(live_dagster):
    execution = _run(live_dagster, "adw_elt_hourly")
    assert execution.state == "SUCCESS", _why(live_dagster, execution)
    (child,) = execution.subflows
    assert execution.outputs["run_elt_job"] == {"executionId": child.id, "state": "SUCCESS"}
    run_status = json.loads(child.outputs["poll_run"]["body"])["data"]["runOrError"]["status"]
    assert run_status == "SUCCESS"
    assert "terminate_run" not in child.outputs  # the errors branch did not run
    orders = _source_count(live_dagster, "sales.salesorderheader")
    with _warehouse(live_dagster) as con:
        assert (
            con.execute("select count(*) from raw_sales.salesorderheader").fetchone()[0] == orders
        )
        total = con.execute("select sum(order_count) from marts.rpt_order_status").fetchone()[0]
    assert total == orders


def test_a_failed_dagster_run_fails_the_execution(live_dagster):
    with psycopg.connect(live_dagster["dsn"], autocommit=True) as conn:
        conn.execute("revoke select on sales.customer from adw_replicator")
    try:
        execution = _run(live_dagster, "adw_elt_hourly")
    finally:
        with psycopg.connect(live_dagster["dsn"], autocommit=True) as conn:
            conn.execute("grant select on sales.customer to adw_replicator")
    assert execution.state == "FAILED"
    run_id = _dagster_run(execution)
    assert f"Dagster run {run_id} of elt_job ended FAILURE" in execution.error, execution.error
    (child,) = execution.subflows
    assert "terminate_run" not in child.outputs  # the run ended by itself: nothing to stop


def test_full_refresh_flow_rebuilds_with_a_new_generation(live_dagster):
    with _warehouse(live_dagster) as con:
        before = con.execute(
            "select max(_airbyte_generation_id) from raw_sales.salesorderheader"
        ).fetchone()[0]
    execution = _run(live_dagster, "adw_full_refresh_nightly")
    assert execution.state == "SUCCESS", _why(live_dagster, execution)
    with _warehouse(live_dagster) as con:
        after = con.execute(
            "select min(_airbyte_generation_id) from raw_sales.salesorderheader"
        ).fetchone()[0]
    assert after > (before or 0)


def test_a_failed_launch_request_is_retried_and_launches_exactly_one_run(live_dagster):
    before = dagster_runs.runs(live_dagster["url"], "web_events_job")
    with FlakyLaunches(live_dagster["url"], failures=1) as proxy:
        execution = _run(live_dagster, "adw_web_events_refresh", url=proxy.url)
    launched = dagster_runs.new_runs(live_dagster["url"], "web_events_job", before)
    (child,) = execution.subflows
    assert proxy.launch_requests == 2
    assert child.attempts["launch_run"] == 2
    assert len(launched) == 1, launched
    assert list(launched) == [child.outputs["launch_run"]["runId"]]
    assert execution.state == "SUCCESS", _why(live_dagster, execution)


def test_adw_launch_surfaces_graphql_error_types(live_dagster):
    unknown = subprocess.run(
        [ADW, "launch", "no_such_job", "--url", live_dagster["url"]],
        capture_output=True,
        text=True,
        env=live_dagster["env"],
    )
    assert unknown.returncode == 1
    assert "PipelineNotFoundError" in unknown.stderr and "no_such_job" in unknown.stderr

    bad = Path(live_dagster["home"]) / "bad.yaml"
    bad.write_text("ops:\n  not_an_op:\n    config: {}\n")
    invalid = subprocess.run(
        [ADW, "launch", "elt_job", "--url", live_dagster["url"], "--config", str(bad)],
        capture_output=True,
        text=True,
        env=live_dagster["env"],
    )
    assert invalid.returncode == 1
    assert "invalid run config" in invalid.stderr


def test_adw_launch_waits_and_two_writers_queue_instead_of_failing(live_dagster):
    """Two warehouse writers launched at once: the second waits in the queue, both succeed."""
    first = subprocess.Popen(
        [ADW, "launch", "elt_job", "--wait", "--url", live_dagster["url"]],
        stdout=subprocess.PIPE,
        text=True,
        env=live_dagster["env"],
    )
    second = subprocess.run(
        [ADW, "launch", "elt_job", "--wait", "--url", live_dagster["url"]],
        capture_output=True,
        text=True,
        env=live_dagster["env"],
    )
    first_out, _ = first.communicate(timeout=600)
    assert first.returncode == 0, first_out
    assert second.returncode == 0, second.stderr
    runs = [json.loads(line) for line in (first_out + second.stdout).splitlines() if line]
    finished = [r for r in runs if r["status"] == "SUCCESS"]
    assert len(finished) == 2
