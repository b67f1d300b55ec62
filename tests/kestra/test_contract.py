"""Contract: each Kestra flow's TriggerRun requests, sent to a live Dagster webserver."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import psycopg
import pytest

from tests.kestra.flows import FLOWS_DIR, load
from tests.kestra.trigger_run import execute_flow

pytestmark = pytest.mark.slow
ADW = str(Path(sys.executable).parent / "adw")


def _secrets(live) -> dict[str, str]:
    return {"ADW_DAGSTER_GRAPHQL_URL": live["url"], "ADW_DAGSTER_TOKEN": "kestra-test-token"}


def _warehouse(live) -> duckdb.DuckDBPyConnection:
    return duckdb.connect(str(live["home"] / "warehouse.duckdb"), read_only=True)


def _source_count(live, table: str) -> int:
    with psycopg.connect(live["dsn"]) as conn:
        return conn.execute(f"select count(*) from {table}").fetchone()[0]


def _why(live, execution) -> str:
    """The failing steps' errors of the flow's Dagster run, for the assertion message."""
    from adw_assets.lib.dagster_graphql import DagsterGraphQL

    runs = [o["runId"] for o in execution.outputs.values() if "runId" in o]
    failures = [f for r in runs for f in DagsterGraphQL(live["url"]).failures(r)]
    return f"{execution.error}: {failures}"


def test_hourly_elt_flow_runs_elt_job_and_fills_the_warehouse(live_dagster):
    execution = execute_flow(load(FLOWS_DIR / "adw_elt_hourly.yml"), _secrets(live_dagster))
    assert execution.state == "SUCCESS", _why(live_dagster, execution)
    assert execution.outputs["trigger_elt"]["status"] == "SUCCESS"
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
        execution = execute_flow(load(FLOWS_DIR / "adw_elt_hourly.yml"), _secrets(live_dagster))
    finally:
        with psycopg.connect(live_dagster["dsn"], autocommit=True) as conn:
            conn.execute("grant select on sales.customer to adw_replicator")
    assert execution.outputs["trigger_elt"]["status"] == "FAILURE"
    assert execution.state == "FAILED"
    assert "ended FAILURE" in execution.error


def test_full_refresh_flow_rebuilds_with_a_new_generation(live_dagster):
    with _warehouse(live_dagster) as con:
        before = con.execute(
            "select max(_airbyte_generation_id) from raw_sales.salesorderheader"
        ).fetchone()[0]
    execution = execute_flow(
        load(FLOWS_DIR / "adw_full_refresh_nightly.yml"), _secrets(live_dagster)
    )
    assert execution.state == "SUCCESS", execution.error
    with _warehouse(live_dagster) as con:
        after = con.execute(
            "select min(_airbyte_generation_id) from raw_sales.salesorderheader"
        ).fetchone()[0]
    assert after > (before or 0)


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
