"""The runs of the live Dagster, as the Kestra tests inspect and clean them (GraphQL)."""

from __future__ import annotations

import time
from typing import Any

from adw_assets.lib.dagster_graphql import DagsterGraphQL

RUNS = """
query Runs($job: String!) {
  runsOrError(filter: {pipelineName: $job}) {
    __typename
    ... on Runs { results { runId status } }
  }
}
"""
EVENTS = """
query Events($runId: ID!) {
  logsForRun(runId: $runId, limit: 1000) { ... on EventConnection { events { __typename } } }
}
"""
TERMINATE = """
mutation Terminate($runId: String!) { terminateRun(runId: $runId) { __typename } }
"""
FINISHED = ("SUCCESS", "FAILURE", "CANCELED")


def runs(url: str, job: str) -> dict[str, dict[str, Any]]:
    """Every run of ``job``, by run id."""
    data = DagsterGraphQL(url).execute(RUNS, {"job": job})["runsOrError"]
    return {r["runId"]: r for r in data["results"]}


def new_runs(url: str, job: str, before: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {rid: r for rid, r in runs(url, job).items() if rid not in before}


def started(url: str, run_id: str) -> bool:
    """Whether the run ever started (its event log has a RunStartEvent); GraphQL's
    ``startTime`` is not a witness: a canceled queued run reports its end time there."""
    logs = DagsterGraphQL(url).execute(EVENTS, {"runId": run_id})["logsForRun"]
    return any(e["__typename"] == "RunStartEvent" for e in logs["events"])


def launch(url: str, job: str, location: str) -> str:
    return DagsterGraphQL(url).launch(job, location, "__repository__")


def wait_for(url: str, run_id: str, statuses: tuple[str, ...], timeout: float = 120) -> str:
    """The run's status once it is one of ``statuses``."""
    client = DagsterGraphQL(url)
    deadline = time.monotonic() + timeout
    while True:
        status = client.status(run_id)
        if status in statuses:
            return status
        if time.monotonic() > deadline:
            raise AssertionError(f"run {run_id} still {status} after {timeout:.0f} s")
        time.sleep(0.3)


def stop(url: str, run_ids: list[str], timeout: float = 120) -> None:
    """Terminate every run of ``run_ids`` until it has finished (a STARTING run cannot be
    terminated yet: ask again)."""
    client = DagsterGraphQL(url)
    deadline = time.monotonic() + timeout
    pending = list(run_ids)
    while pending:
        for run_id in list(pending):
            status = client.status(run_id)
            if status in FINISHED:
                pending.remove(run_id)
            elif status != "CANCELING":
                client.execute(TERMINATE, {"runId": run_id})
        if pending and time.monotonic() > deadline:
            raise AssertionError(f"runs {pending} not finished after {timeout:.0f} s")
        time.sleep(0.3)
