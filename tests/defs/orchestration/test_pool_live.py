"""Every warehouse writer is queued, however it was launched: on a live Dagster (webserver and
daemon, runs side by side), an untagged "Materialize" sent over GraphQL as the UI sends it and
an elt_job run both wait while the pool ``warehouse`` is taken, then run one op at a time, with
no lock error."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import dagster as dg
import pytest

from adw_assets.defs.warehouse.resources import POOL
from adw_assets.lib.source.simulate import simulate
from tests.dbt.dbt_chain import quiet
from tests.support.live_dagster import live_dagster

pytestmark = pytest.mark.slow
ADW = str(Path(sys.executable).parent / "adw")
WAITING = {dg.DagsterRunStatus.QUEUED, dg.DagsterRunStatus.STARTING, dg.DagsterRunStatus.STARTED}
POOLED = {"replicated_tables", "replication_checks", "adw_dbt_models", "dashboard__snapshot"}

# what the UI's "Materialize" button sends (the implicit asset job, an asset selection, no tags)
MATERIALIZE = """
mutation LaunchPipelineExecution($executionParams: ExecutionParams!) {
  launchPipelineExecution(executionParams: $executionParams) {
    __typename
    ... on LaunchRunSuccess { run { runId } }
    ... on PythonError { message }
  }
}
"""


def _graphql(url: str, query: str, variables: dict) -> dict:
    body = json.dumps({"query": query, "variables": variables}).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as resp:
        return json.loads(resp.read())["data"]


def _materialize_from_the_ui(url: str, key: list[str]) -> str:
    params = {
        "selector": {
            "repositoryLocationName": "adw",
            "repositoryName": "__repository__",
            "pipelineName": "__ASSET_JOB",
            "assetSelection": [{"path": key}],
            "assetCheckSelection": [],
        },
        "mode": "default",
        "runConfigData": {},
        "executionMetadata": {"tags": []},
    }
    result = _graphql(url, MATERIALIZE, {"executionParams": params})["launchPipelineExecution"]
    assert result["__typename"] == "LaunchRunSuccess", result
    return result["run"]["runId"]


@pytest.fixture(scope="module")
def server(pg_cluster, tmp_path_factory):
    home = tmp_path_factory.mktemp("pool") / "adw"
    with live_dagster(pg_cluster, home, {"adw": "adw_assets.definitions"}) as live:
        first = subprocess.run(
            [ADW, "launch", "elt_job", "--wait", "--url", live["url"]],
            capture_output=True, text=True, env=live["env"], timeout=900,
        )  # fmt: skip
        assert first.returncode == 0, first.stderr  # the warehouse is built
        yield live


def _instance(home: Path) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_config(str(home / "dagster"))


def _pooled_steps(instance: dg.DagsterInstance, run_id: str) -> list:
    return [s for s in instance.get_run_step_stats(run_id) if s.step_key in POOLED]


def _wait_until_done(instance, run_ids: list[str], timeout: float = 600) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        runs = {r: instance.get_run_by_id(r) for r in run_ids}
        if all(run.is_finished for run in runs.values()):
            return runs
        time.sleep(1)
    raise AssertionError(f"runs still going after {timeout} s: {run_ids}")


def test_an_untagged_materialization_and_elt_job_wait_for_the_pool(server):
    # new orders, so that elt_job's dbt step and snapshot have work (with nothing new since the
    # fixture's run, the dbt step builds nothing and the snapshot is skipped)
    simulate(server["dsn"], orders=5, updates=0, seed=3, progress=quiet)
    instance = _instance(server["home"])
    storage = instance.event_log_storage
    holder = storage.claim_concurrency_slot(POOL, "adw-test-holder", "hold", 0)
    assert holder.is_claimed  # the test holds the warehouse, as a long writer would
    try:
        launched = subprocess.run(
            [ADW, "launch", "elt_job", "--url", server["url"]],
            capture_output=True, text=True, env=server["env"], check=True,
        )  # fmt: skip
        elt = json.loads(launched.stdout)["run_id"]
        ui = _materialize_from_the_ui(server["url"], ["marts", "fct_orders"])
        time.sleep(20)
        for run_id in (elt, ui):
            # waiting: in the run queue (the coordinator holds a run whose first op's pool is
            # full) or started with its warehouse op blocked; neither failed nor ran that op
            run = instance.get_run_by_id(run_id)
            assert run.status in WAITING, (run_id, run.status)
            assert not _pooled_steps(instance, run_id)
    finally:
        storage.free_concurrency_slot_for_step("adw-test-holder", "hold")
    runs = _wait_until_done(instance, [elt, ui])
    assert all(r.status == dg.DagsterRunStatus.SUCCESS for r in runs.values()), runs
    assert not any(k.startswith("adw/") for k in runs[ui].tags)  # nothing of adw's own
    steps = [s for r in (elt, ui) for s in _pooled_steps(instance, r)]
    windows = sorted((s.start_time, s.end_time, s.step_key) for s in steps)
    assert len(windows) == len(POOLED) + 1  # elt_job's four ops and the UI's dbt op
    for (_, end, before), (start, _, after) in itertools.pairwise(windows):
        assert start >= end - 0.01, f"{before} and {after} overlapped"
    messages = [e.message or "" for r in (elt, ui) for e in instance.all_logs(r)]
    assert not [m for m in messages if "lock" in m.lower() and "conflicting" in m.lower()]
