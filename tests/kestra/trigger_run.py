"""What Kestra's ``io.kestra.plugin.dagster.TriggerRun`` sends, replayed from a flow's YAML.

Kestra (a Java server) cannot run here, so the contract tests render each flow's TriggerRun
task and send the same HTTP requests that task sends to the Dagster GraphQL endpoint: a POST of
``{"query", "variables"}`` with the ``launchPipelineExecution`` mutation (selector
``repositoryLocationName/repositoryName/pipelineName``, ``mode: "default"``,
``runConfigData`` from ``body.runConfig``), headers from ``options.headers``, then the
``runOrError`` query every ``pollFrequency`` until SUCCESS, FAILURE or CANCELED. Its outputs
(runId, status, jobName) feed the flow's gate task, as in Kestra.
"""

from __future__ import annotations

import json
import re
import time
import urllib.request
from dataclasses import dataclass
from typing import Any

from tests.kestra.flows import iter_tasks, render

# The operation the plugin sends (same operation name, variables, selector and selections).
KESTRA_LAUNCH = """
mutation LaunchRun($repositoryLocationName: String!, $repositoryName: String!,
                   $pipelineName: String!, $runConfigData: RunConfigData!) {
  launchPipelineExecution(executionParams: {
    selector: {repositoryLocationName: $repositoryLocationName,
               repositoryName: $repositoryName, pipelineName: $pipelineName},
    mode: "default", runConfigData: $runConfigData}) {
    __typename
    ... on LaunchRunSuccess { run { runId status } }
    ... on PythonError { message stack }
  }
}
"""

KESTRA_STATUS = """
query RunStatus($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { runId status jobName startTime endTime }
    ... on RunNotFoundError { message }
  }
}
"""

TERMINAL = {"SUCCESS", "FAILURE", "CANCELED"}


class TaskFailed(Exception):
    """The Kestra task (or the execution, through the gate) ends FAILED."""


@dataclass
class Execution:
    state: str  # SUCCESS or FAILED, as Kestra would end the execution
    outputs: dict[str, dict[str, Any]]
    error: str | None = None


def _duration_seconds(iso: str) -> float:
    m = re.fullmatch(r"PT(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?", iso)
    h, mi, s = (float(x) if x else 0.0 for x in m.groups())
    return h * 3600 + mi * 60 + s


def _post(url: str, headers: dict[str, str], query: str, variables: dict[str, Any]) -> dict:
    body = json.dumps({"query": query, "variables": variables}).encode()
    req = urllib.request.Request(url, data=body, method="POST")
    req.add_header("Content-Type", "application/json")
    for k, v in headers.items():
        req.add_header(k, str(v))
    with urllib.request.urlopen(req, timeout=30) as resp:
        if resp.status != 200:
            raise TaskFailed(f"HTTP {resp.status}")
        return json.loads(resp.read())


def run_trigger_task(task: dict[str, Any], ctx: dict[str, Any], poll_override: float | None):
    t = render(task, ctx)
    headers = (t.get("options") or {}).get("headers") or {}
    run_config = (t.get("body") or {}).get("runConfig") or {}
    launch = _post(
        t["baseUrl"],
        headers,
        KESTRA_LAUNCH,
        {
            "repositoryLocationName": t["location"],
            "repositoryName": t["repository"],
            "pipelineName": t["jobName"],
            "runConfigData": run_config,
        },
    )
    result = launch["data"]["launchPipelineExecution"]
    if result["__typename"] == "PythonError":
        raise TaskFailed(f"Python error in Dagster: {result['message']}")
    if result["__typename"] != "LaunchRunSuccess":
        # the plugin reads run.runId of a null run: the task fails
        raise TaskFailed(f"launch returned {result['__typename']}")
    out = {
        "runId": result["run"]["runId"],
        "status": result["run"]["status"],
        "jobName": t["jobName"],
    }
    if not t.get("wait"):
        return out
    poll = poll_override or _duration_seconds(t.get("pollFrequency", "PT5S"))
    deadline = time.monotonic() + _duration_seconds(t.get("maxDuration", "PT30M"))
    while time.monotonic() < deadline:
        run = _post(t["baseUrl"], headers, KESTRA_STATUS, {"runId": out["runId"]})
        run = run["data"]["runOrError"]
        if run.get("status") in TERMINAL:
            out.update(
                status=run["status"], startTime=run.get("startTime"), endTime=run.get("endTime")
            )
            return out
        time.sleep(poll)
    raise TaskFailed("Dagster run did not complete within the specified timeout")


def execute_flow(flow: dict[str, Any], secrets: dict[str, str], poll: float | None = 0.5):
    """Run the flow's tasks in order as Kestra would, for the task types our flows use."""
    ctx: dict[str, Any] = {
        "secrets": secrets,
        "vars": flow.get("variables") or {},
        "outputs": {},
        "flow": {"id": flow["id"], "namespace": flow["namespace"]},
    }
    for task in iter_tasks(flow["tasks"]):
        try:
            if task["type"] == "io.kestra.plugin.dagster.TriggerRun":
                ctx["outputs"][task["id"]] = run_trigger_task(task, ctx, poll)
            elif task["type"] == "io.kestra.plugin.core.execution.Fail":
                condition = render(task.get("condition", "true"), ctx)
                if condition in (True, "true") or (condition not in (False, "false", "", 0)):
                    message = render(task.get("errorMessage", "Task failure"), ctx)
                    return Execution("FAILED", ctx["outputs"], message)
            else:
                raise AssertionError(f"task type {task['type']} not emulated")
        except TaskFailed as exc:
            return Execution("FAILED", ctx["outputs"], str(exc))
    return Execution("SUCCESS", ctx["outputs"])
