"""``io.kestra.plugin.dagster.TriggerRun`` as the emulator runs it: the same HTTP requests.

Source: kestra-io/plugin-dagster, src/main/java/io/kestra/plugin/dagster/TriggerRun.java.
It POSTs ``{"query", "variables"}`` with the ``launchPipelineExecution`` mutation (selector
``repositoryLocationName/repositoryName/pipelineName``, ``mode: "default"``, ``runConfigData``
from ``body.runConfig``; the rest of ``body``, such as ``tags``, is dropped) and the headers of
``options.headers``. A non-200 answer or a ``PythonError`` fails the task; another error type
(``PipelineNotFoundError``, ...) fails it too (the plugin reads ``run.runId`` of a null run).
With ``wait`` false (the default) it returns at once: outputs ``runId``, ``status`` (the initial
one) and ``jobName``. With ``wait`` true it polls ``runOrError`` every ``pollFrequency`` (PT5S)
until SUCCESS, FAILURE or CANCELED, through ``Await.until``, which throws once ``maxDuration``
(PT30M) has passed: the task fails, has no outputs, and nothing cancels the Dagster run.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from tests.kestra.emulator.engine import TaskFailed, as_bool, seconds, task_type

# The plugin's own texts (TriggerRun.buildLaunchMutation / buildStatusQuery): the emulator
# sends what Kestra sends, so it does not use adw's client (adw_assets/lib/dagster_graphql.py),
# whose queries ask for more error types.
LAUNCH = """
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

STATUS = """
query RunStatus($runId: ID!) {
  runOrError(runId: $runId) {
    __typename
    ... on Run { runId status jobName startTime endTime }
    ... on RunNotFoundError { message }
  }
}
"""

TERMINAL = ("SUCCESS", "FAILURE", "CANCELED")


def _post(url: str, headers: Mapping[str, Any], query: str, variables: dict[str, Any]) -> dict:
    body = json.dumps({"query": query, "variables": variables}).encode()
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", "application/json")
    for name, value in headers.items():
        request.add_header(name, str(value))
    try:
        with urllib.request.urlopen(request, timeout=300) as response:
            return json.loads(response.read())
    except urllib.error.HTTPError as exc:
        raise TaskFailed(f"Dagster GraphQL at {url} answered HTTP {exc.code}") from exc
    except OSError as exc:
        raise TaskFailed(f"Dagster GraphQL at {url} unreachable: {exc}") from exc


@task_type(
    "io.kestra.plugin.dagster.TriggerRun",
    properties={
        "baseUrl",
        "location",
        "repository",
        "jobName",
        "wait",
        "maxDuration",
        "pollFrequency",
        "body",
        "options",
    },
)
def trigger_run(task: Mapping[str, Any], runner) -> dict[str, Any]:
    t = runner.render({k: v for k, v in task.items() if k != "retry"})
    headers = (t.get("options") or {}).get("headers") or {}
    launch = _post(
        t["baseUrl"],
        headers,
        LAUNCH,
        {
            "repositoryLocationName": t["location"],
            "repositoryName": t["repository"],
            "pipelineName": t["jobName"],
            "runConfigData": (t.get("body") or {}).get("runConfig") or {},
        },
    )
    result = launch["data"]["launchPipelineExecution"]
    if result["__typename"] == "PythonError":
        raise TaskFailed(f"Python error in Dagster: {result['message']}")
    if result["__typename"] != "LaunchRunSuccess":
        raise TaskFailed(f"NullPointerException: launch answered {result['__typename']}")
    outputs = {
        "runId": result["run"]["runId"],
        "status": result["run"]["status"],
        "jobName": t["jobName"],
    }
    if not as_bool(t.get("wait", False)):
        return outputs
    poll = seconds(t.get("pollFrequency", "PT5S"))
    timeout = seconds(t.get("maxDuration", "PT30M"))
    start = time.monotonic()
    while True:  # Await.until(supplier, pollFrequency, maxDuration)
        run = _post(t["baseUrl"], headers, STATUS, {"runId": outputs["runId"]})
        run = run["data"]["runOrError"]
        if run.get("status") in TERMINAL:
            return {
                **outputs,
                "status": run["status"],
                "startTime": run.get("startTime"),
                "endTime": run.get("endTime"),
            }
        if time.monotonic() - start > timeout:
            raise TaskFailed(f"Await failed to terminate within {t.get('maxDuration', 'PT30M')}.")
        time.sleep(poll)
