"""A small client for the Dagster webserver's GraphQL API: launch a job, wait for its end.

It sends the same ``launchPipelineExecution`` mutation and ``runOrError`` query as Kestra's
``io.kestra.plugin.dagster.TriggerRun`` (plus the error types that task ignores), so
``adw launch`` behaves like the Kestra flows and can stand in for them from any scheduler.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Any

from adw_assets.errors import AdwError

TERMINAL = ("SUCCESS", "FAILURE", "CANCELED")

LAUNCH_MUTATION = """
mutation LaunchRun($repositoryLocationName: String!, $repositoryName: String!,
                   $pipelineName: String!, $runConfigData: RunConfigData!) {
  launchPipelineExecution(
    executionParams: {
      selector: {
        repositoryLocationName: $repositoryLocationName,
        repositoryName: $repositoryName,
        pipelineName: $pipelineName
      },
      mode: "default",
      runConfigData: $runConfigData
    }
  ) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on PythonError { message stack }
    ... on PipelineNotFoundError { message pipelineName }
    ... on RunConfigValidationInvalid { pipelineName errors { message reason } }
    ... on InvalidSubsetError { message }
    ... on UnauthorizedError { message }
    ... on RunConflict { message }
    ... on PresetNotFoundError { message }
    ... on ConflictingExecutionParamsError { message }
  }
}
"""

STATUS_QUERY = """
query RunStatus($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { runId status jobName startTime endTime }
    ... on RunNotFoundError { message }
    ... on PythonError { message }
  }
}
"""

FAILURE_QUERY = """
query RunFailure($runId: ID!, $afterCursor: String) {
  logsForRun(runId: $runId, afterCursor: $afterCursor, limit: 1000) {
    __typename
    ... on EventConnection {
      cursor
      hasMore
      events {
        __typename
        ... on ExecutionStepFailureEvent { stepKey error { message } }
        ... on RunFailureEvent { message }
      }
    }
  }
}
"""


class LaunchError(AdwError):
    """The webserver refused the launch (unknown job, bad config, unreachable, ...)."""


@dataclass
class RunResult:
    run_id: str
    status: str
    job_name: str
    start_time: float | None = None
    end_time: float | None = None
    failures: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "SUCCESS"


class DagsterGraphQL:
    def __init__(self, url: str, token: str | None = None, timeout: float = 30.0):
        self.url = url
        self.headers = {"Content-Type": "application/json"}
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        self.timeout = timeout

    def execute(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        body = json.dumps({"query": query, "variables": variables}).encode()
        request = urllib.request.Request(self.url, data=body, headers=self.headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                payload = json.loads(response.read())
        except urllib.error.HTTPError as exc:
            detail = exc.read().decode(errors="replace")[:500]
            raise LaunchError(
                f"Dagster GraphQL at {self.url} answered HTTP {exc.code}: {detail}"
            ) from exc
        except (urllib.error.URLError, TimeoutError, ConnectionError) as exc:
            raise LaunchError(
                f"cannot reach the Dagster webserver at {self.url} ({exc}); start it with "
                "`adw dev` or set ADW_DAGSTER_URL to its /graphql endpoint."
            ) from exc
        if payload.get("errors"):
            messages = "; ".join(e.get("message", str(e)) for e in payload["errors"])
            raise LaunchError(f"Dagster GraphQL error: {messages}")
        return payload["data"]

    def launch(
        self, job: str, location: str, repository: str, run_config: dict[str, Any] | None = None
    ) -> str:
        data = self.execute(
            LAUNCH_MUTATION,
            {
                "repositoryLocationName": location,
                "repositoryName": repository,
                "pipelineName": job,
                "runConfigData": run_config or {},
            },
        )
        result = data["launchPipelineExecution"]
        kind = result["__typename"]
        if kind == "LaunchRunSuccess":
            return result["run"]["runId"]
        if kind == "RunConfigValidationInvalid":
            errors = "; ".join(e["message"] for e in result["errors"])
            raise LaunchError(f"invalid run config for {job}: {errors}")
        if kind == "PipelineNotFoundError":
            raise LaunchError(
                f"{kind}: no job {job!r} in {location}/{repository} ({result['message']}). "
                "List the jobs in the Dagster UI or `dagster job list -w workspace.yaml`."
            )
        raise LaunchError(f"{kind}: {result.get('message', result)}")

    def status(self, run_id: str) -> dict[str, Any]:
        result = self.execute(STATUS_QUERY, {"runId": run_id})["runOrError"]
        if result["__typename"] != "Run":
            raise LaunchError(f"{result['__typename']}: {result.get('message')}")
        return result

    def failures(self, run_id: str) -> list[str]:
        """The failing steps' errors and the run failure message, over all the run's events."""
        out, cursor = [], None
        while True:
            logs = self.execute(FAILURE_QUERY, {"runId": run_id, "afterCursor": cursor})
            logs = logs["logsForRun"]
            for event in logs.get("events", []):
                if event["__typename"] == "ExecutionStepFailureEvent":
                    out.append(f"{event['stepKey']}: {event['error']['message'].strip()}")
                elif event["__typename"] == "RunFailureEvent":
                    out.append(event["message"])
            if not logs.get("hasMore") or logs.get("cursor") in (None, cursor):
                return out
            cursor = logs["cursor"]

    def wait(self, run_id: str, poll: float = 1.0, timeout: float = 3600.0) -> RunResult:
        deadline = time.monotonic() + timeout
        while True:
            run = self.status(run_id)
            if run["status"] in TERMINAL:
                result = RunResult(
                    run_id, run["status"], run["jobName"], run.get("startTime"), run.get("endTime")
                )
                if not result.ok:
                    result.failures = self.failures(run_id)
                return result
            if time.monotonic() > deadline:
                raise LaunchError(f"run {run_id} still {run['status']} after {timeout:.0f} s")
            time.sleep(poll)
