"""``adw launch``'s client of the Dagster webserver's GraphQL API.

dagster-graphql's ``DagsterGraphQLClient`` launches the job and reads the run's status (the
``launchPipelineExecution`` mutation Kestra's ``io.kestra.plugin.dagster.TriggerRun`` sends
too, so ``adw launch`` behaves like the Kestra flows); adw adds what it lacks: waiting for the
run's end, the run's times, and the failing steps' errors, and it turns the client's errors
into one line that says what to do.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from dagster_graphql import DagsterGraphQLClient, DagsterGraphQLClientError
from gql import Client, gql
from gql.transport.exceptions import TransportQueryError, TransportServerError
from gql.transport.requests import RequestsHTTPTransport

from adw_assets.errors import AdwError

TERMINAL = ("SUCCESS", "FAILURE", "CANCELED")

RUN_QUERY = """
query Run($runId: ID!) {
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
    """``client`` is dagster-graphql's; :meth:`execute` runs any other query (gql)."""

    def __init__(self, url: str, token: str | None = None, timeout: float = 30.0):
        self.url = url
        headers = {"Authorization": f"Bearer {token}"} if token else None

        def transport() -> RequestsHTTPTransport:
            return RequestsHTTPTransport(url=url, headers=headers, timeout=int(timeout))

        host = urlsplit(url).hostname or url  # the client names it in its own errors only
        self.client = DagsterGraphQLClient(host, transport=transport())
        self._queries = Client(transport=transport())

    def _unreadable(self, exc: BaseException) -> LaunchError:
        """A request that got no GraphQL answer, as one line naming the URL."""
        if isinstance(exc, TransportQueryError):
            messages = "; ".join(e.get("message", str(e)) for e in exc.errors or [])
            return LaunchError(f"Dagster GraphQL error: {messages or exc}")
        if isinstance(exc, TransportServerError):
            response = getattr(exc.__cause__, "response", None)
            detail = response.text[:500] if response is not None else str(exc)
            return LaunchError(f"Dagster GraphQL at {self.url} answered HTTP {exc.code}: {detail}")
        return LaunchError(
            f"cannot reach the Dagster webserver at {self.url} ({exc}); start it with "
            "`adw dev` or set ADW_DAGSTER_URL to its /graphql endpoint."
        )

    def execute(self, query: str, variables: dict[str, Any]) -> dict[str, Any]:
        try:
            return self._queries.execute(gql(query), variable_values=variables)
        except Exception as exc:  # gql's transport and query errors
            raise self._unreadable(exc) from exc

    def _refused(self, exc: DagsterGraphQLClientError, job: str, where: str) -> LaunchError:
        """dagster-graphql's error: a transport error it wraps, or ``(type, detail)``."""
        if exc.__cause__ is not None:
            return self._unreadable(exc.__cause__)
        kind, detail = (*exc.args, exc.body, None)[:2]
        if kind in ("RunConfigValidationInvalid", "PipelineConfigValidationInvalid"):
            errors = "; ".join(e["message"] for e in detail or [])
            return LaunchError(f"invalid run config for {job}: {errors}")
        if kind == "PipelineNotFoundError":
            return LaunchError(
                f"{kind}: no job {job!r} in {where} ({detail}). "
                "List the jobs in the Dagster UI or `dagster job list -w workspace.yaml`."
            )
        return LaunchError(f"{kind}: {detail}")

    def launch(
        self, job: str, location: str, repository: str, run_config: dict[str, Any] | None = None
    ) -> str:
        try:
            return self.client.submit_job_execution(
                job,
                repository_location_name=location,
                repository_name=repository,
                run_config=run_config or {},
            )
        except DagsterGraphQLClientError as exc:
            raise self._refused(exc, job, f"{location}/{repository}") from exc

    def status(self, run_id: str) -> str:
        """The run's status (``QUEUED``, ``STARTED``, ``SUCCESS``, ...)."""
        try:
            return self.client.get_run_status(run_id).value
        except DagsterGraphQLClientError as exc:
            raise self._refused(exc, "", "") from exc

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
        while (status := self.status(run_id)) not in TERMINAL:
            if time.monotonic() > deadline:
                raise LaunchError(f"run {run_id} still {status} after {timeout:.0f} s")
            time.sleep(poll)
        run = self.execute(RUN_QUERY, {"runId": run_id})["runOrError"]
        if run["__typename"] != "Run":
            raise LaunchError(f"{run['__typename']}: {run.get('message')}")
        result = RunResult(
            run_id, run["status"], run["jobName"], run.get("startTime"), run.get("endTime")
        )
        if not result.ok:
            result.failures = self.failures(run_id)
        return result
