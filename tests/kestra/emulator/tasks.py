"""Kestra core task types used by the adw flows, as the emulator runs them.

Sources (kestra-io/kestra, Kestra 1.x):
* core/src/main/java/io/kestra/plugin/core/flow/Sequential.java: ``tasks`` then ``errors``.
* .../flow/LoopUntil.java (alias ``io.kestra.plugin.core.flow.WaitFor``): runs ``tasks``,
  then renders ``condition``; stops when it is truthy or when ``checkFrequency.maxIterations``
  / ``checkFrequency.maxDuration`` (counted from the task's creation) is reached, checked only
  after the children ran, and reaching a maximum wins over the condition; the task then FAILS
  when ``failOnMaxReached`` (default false), else succeeds. ``checkFrequency.interval`` (default
  PT1M) separates iterations. Output ``iterationCount`` (1 for the first iteration). A child
  that fails (after its retries) fails the loop. Children's outputs are those of the last
  iteration (Execution.outputs merges task runs in order).
* .../execution/Fail.java: without ``condition`` always fails with ``errorMessage`` (default
  "Task failure"); with one, fails when it renders truthy, logging ``errorMessage``.
* .../http/Request.java + AbstractHttp.java: ``uri``, ``method`` (GET), ``body``,
  ``contentType`` (application/json), ``headers``; a response code >= 400 fails the task
  (HttpConfiguration.allowFailed false); outputs ``uri``, ``code``, ``headers``, ``body``.
* .../flow/Subflow.java: runs flow ``namespace``/``flowId`` with rendered ``inputs``; with
  ``wait`` (default true) and ``transmitFailed`` (default true) a FAILED or KILLED subflow
  execution fails the task; outputs ``executionId`` and ``state``.
"""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Mapping
from typing import Any

from tests.kestra.emulator.engine import (
    NotEmulated,
    TaskFailed,
    as_bool,
    require_keys,
    seconds,
    task_type,
    truthy,
)

HTTP_TIMEOUT = 300.0  # TimeoutConfiguration.readIdleTimeout default PT5M


@task_type(
    "io.kestra.plugin.core.flow.Sequential",
    properties={"tasks", "errors"},
    runnable=False,
)
def sequential(task: Mapping[str, Any], runner) -> None:
    runner.run_branch(task["tasks"], task.get("errors"))


@task_type(
    "io.kestra.plugin.core.flow.LoopUntil",
    "io.kestra.plugin.core.flow.WaitFor",
    properties={"tasks", "condition", "failOnMaxReached", "checkFrequency"},
    runnable=False,
)
def loop_until(task: Mapping[str, Any], runner) -> dict[str, Any]:
    frequency = runner.render(task.get("checkFrequency") or {})
    require_keys(
        f"{task['id']}.checkFrequency", frequency, {"interval", "maxDuration", "maxIterations"}
    )
    interval = seconds(frequency.get("interval", "PT1M"))
    max_duration = seconds(frequency["maxDuration"]) if "maxDuration" in frequency else None
    max_iterations = int(frequency["maxIterations"]) if "maxIterations" in frequency else None
    fail_on_max = as_bool(runner.render(task.get("failOnMaxReached", False)))
    created = time.monotonic()
    iteration = 0
    while True:
        iteration += 1
        runner.execution.outputs[task["id"]] = {"iterationCount": iteration}
        runner.run_branch(task["tasks"])
        if max_iterations is not None and iteration >= max_iterations:
            reached = "Max iterations reached"
        elif max_duration is not None and time.monotonic() > created + max_duration:
            reached = "Max duration reached"
        elif truthy(runner.render(task["condition"])):
            return {"iterationCount": iteration}
        else:
            time.sleep(interval)
            continue
        if fail_on_max:
            raise TaskFailed(reached)
        return {"iterationCount": iteration}


@task_type("io.kestra.plugin.core.execution.Fail", properties={"condition", "errorMessage"})
def fail(task: Mapping[str, Any], runner) -> None:
    message = "Task failure"
    if "condition" in task and not truthy(runner.render(task["condition"])):
        return None
    if "errorMessage" in task:
        message = runner.render(task["errorMessage"])
    raise TaskFailed(message)


@task_type(
    "io.kestra.plugin.core.http.Request",
    properties={"uri", "method", "body", "contentType", "headers"},
)
def http_request(task: Mapping[str, Any], runner) -> dict[str, Any]:
    t = runner.render({k: v for k, v in task.items() if k != "retry"})
    data = t["body"].encode() if "body" in t else None
    request = urllib.request.Request(t["uri"], data=data, method=t.get("method", "GET"))
    request.add_header("Content-Type", t.get("contentType", "application/json"))
    for name, value in (t.get("headers") or {}).items():
        request.add_header(name, str(value))
    try:
        with urllib.request.urlopen(request, timeout=HTTP_TIMEOUT) as response:
            code, headers, body = response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        raise TaskFailed(f"Failed http request with response code '{exc.code}'") from exc
    except OSError as exc:
        raise TaskFailed(f"http request to {t['uri']} failed: {exc}") from exc
    return {"uri": t["uri"], "code": code, "headers": headers, "body": body.decode()}


@task_type(
    "io.kestra.plugin.core.flow.Subflow",
    properties={"namespace", "flowId", "inputs", "wait", "transmitFailed"},
    runnable=False,
)
def subflow(task: Mapping[str, Any], runner) -> dict[str, Any]:
    t = runner.render({k: v for k, v in task.items()})
    if not as_bool(t.get("wait", True)):
        raise NotEmulated(f"{task['id']}: a Subflow that does not wait")
    flow = runner.kestra.flows.get((t["namespace"], t["flowId"]))
    if flow is None:
        raise TaskFailed(f"Unable to find flow '{t['namespace']}'.'{t['flowId']}'")
    child = runner.kestra.execute(flow, t.get("inputs") or {})
    runner.execution.subflows.append(child)
    if child.state in ("FAILED", "KILLED") and as_bool(t.get("transmitFailed", True)):
        raise TaskFailed(f"Subflow execution {child.id} ends in FAILED state: {child.error}")
    return {"executionId": child.id, "state": child.state}
