"""An emulated Kestra executor: runs a flow's tasks with Kestra's semantics, for the contract tests.

Kestra (a Java server) cannot run here. This engine runs the flows of kestra_flows/ the way
Kestra 1.x runs them, for the task types and properties our flows use; anything else raises
``NotEmulated`` so that a flow can never pass a test by using something the engine ignores.
Sources are kestra-io/kestra (``core/src/main/java/io/kestra/...``), cited per rule below.

* Tasks of a branch run in order; the first task that fails ends the branch, then the branch's
  ``errors`` tasks run, every one of them even when one fails (FlowableUtils
  .resolveSequentialNexts / innerResolveSequentialNexts, Execution.findTaskDependingFlowState),
  and the branch ends FAILED (Execution.guessFinalState looks at ``tasks`` only). Errors tasks
  see the outputs of the tasks that succeeded; a failed task has no outputs.
* ``retry`` (models/tasks/retrys, TaskRun.nextRetryDate): a failed attempt of a runnable task
  is run again from the start, after ``constant.interval`` or, for ``exponential``,
  ``min(interval * (delayFactor or 2) * (attempt - 1), maxInterval)``; no retry once
  ``maxAttempts`` attempts ran or the next one would start after ``maxDuration``.
* ``concurrency`` (models/flows/Concurrency, ExecutorService.checkConcurrencyLimit): with
  ``limit`` executions of the flow running, a new one waits (QUEUE), ends CANCELLED (CANCEL)
  or ends FAILED (FAIL: "Flow is FAILED due to concurrency limit exceeded").
* ``pluginDefaults`` (models/flows/PluginDefault): ``values`` apply to every task of ``type``;
  a key that the task sets itself is refused here (Kestra's merge is not emulated).
* inputs: ``defaults``, ``required`` (default true), types STRING and DURATION.
"""

from __future__ import annotations

import re
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from tests.kestra.emulator.pebble import PebbleError, render

FLOW_KEYS = {
    "id",
    "namespace",
    "description",
    "labels",
    "inputs",
    "variables",
    "tasks",
    "errors",
    "triggers",
    "concurrency",
    "pluginDefaults",
}
TASK_KEYS = {"id", "type", "description", "disabled"}
INPUT_KEYS = {"id", "type", "description", "defaults", "required"}
RETRY_KEYS = {
    "constant": {"type", "interval", "maxAttempts", "maxDuration"},
    "exponential": {"type", "interval", "maxInterval", "delayFactor", "maxAttempts", "maxDuration"},
}
DURATION = re.compile(r"P(?:(\d+)D)?(?:T(?=\d)(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?")


class NotEmulated(AssertionError):
    """The flow uses a type, property or value this engine does not reproduce."""


class TaskFailed(Exception):
    """The task ends FAILED (after its retries)."""


def seconds(iso: Any) -> float:
    """A java.time.Duration in ISO-8601 (``PT5S``, ``PT1H30M``, ``P1D``) in seconds."""
    m = DURATION.fullmatch(str(iso))
    if not m or str(iso) == "P":
        raise NotEmulated(f"not an ISO-8601 duration: {iso!r}")
    d, h, mi, s = (float(x) if x else 0.0 for x in m.groups())
    return d * 86400 + h * 3600 + mi * 60 + s


def truthy(rendered: Any) -> bool:
    """TruthUtils.isTruthy: everything but null, "false", "0", "-0" and ""."""
    return rendered is not None and str(rendered) not in ("false", "0", "-0", "")


def require_keys(where: str, value: Mapping[str, Any], allowed: set[str]) -> None:
    unknown = set(value) - allowed
    if unknown:
        raise NotEmulated(f"{where}: {sorted(unknown)} not emulated (emulated: {sorted(allowed)})")


@dataclass
class Execution:
    flow_id: str
    namespace: str
    id: str = field(default_factory=lambda: uuid.uuid4().hex[:22])
    state: str = "RUNNING"
    inputs: dict[str, Any] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    attempts: Counter = field(default_factory=Counter)
    failures: list[tuple[str, str]] = field(default_factory=list)  # (task id, message)
    subflows: list[Execution] = field(default_factory=list)

    @property
    def error(self) -> str:
        return "; ".join(f"{task}: {message}" for task, message in self.failures)


class Kestra:
    """One emulated Kestra server: its flows, its secrets and its running executions."""

    def __init__(self, flows: Iterable[Mapping[str, Any]], secrets: Mapping[str, str]):
        self.flows = {(f["namespace"], f["id"]): f for f in flows}
        self.secrets = dict(secrets)
        self._running: Counter = Counter()
        self._changed = threading.Condition()

    def execute(self, flow: Mapping[str, Any] | str, inputs: Mapping[str, Any] | None = None):
        """Run an execution of ``flow`` (a flow dict, or the id of a known flow) to its end."""
        from tests.kestra.emulator.runner import Runner

        if isinstance(flow, str):
            (flow,) = [f for (_, fid), f in self.flows.items() if fid == flow]
        require_keys(f"flow {flow['id']}", flow, FLOW_KEYS)
        execution = Execution(flow["id"], flow["namespace"])
        execution.inputs = typed_inputs(flow, inputs or {})
        key = (flow["namespace"], flow["id"])
        if not self._enter(key, flow.get("concurrency"), execution):
            return execution
        try:
            Runner(self, flow, execution).run()
        finally:
            with self._changed:
                self._running[key] -= 1
                self._changed.notify_all()
        return execution

    def _enter(self, key, concurrency: Mapping[str, Any] | None, execution: Execution) -> bool:
        with self._changed:
            if concurrency:
                require_keys("concurrency", concurrency, {"limit", "behavior"})
                behavior = concurrency.get("behavior", "QUEUE")
                while self._running[key] >= concurrency["limit"]:
                    if behavior == "CANCEL":
                        execution.state = "CANCELLED"
                        return False
                    if behavior == "FAIL":
                        execution.state = "FAILED"
                        message = "Flow is FAILED due to concurrency limit exceeded"
                        execution.failures.append(("", message))
                        return False
                    if behavior != "QUEUE":
                        raise NotEmulated(f"concurrency behavior {behavior}")
                    execution.state = "QUEUED"
                    self._changed.wait()
            self._running[key] += 1
            execution.state = "RUNNING"
            return True

    def running(self, flow_id: str) -> int:
        with self._changed:
            return sum(n for (_, fid), n in self._running.items() if fid == flow_id)


def typed_inputs(flow: Mapping[str, Any], given: Mapping[str, Any]) -> dict[str, Any]:
    declared = {i["id"]: i for i in flow.get("inputs") or []}
    unknown = set(given) - set(declared)
    if unknown:
        raise NotEmulated(f"flow {flow['id']} declares no input {sorted(unknown)}")
    out: dict[str, Any] = {}
    for name, spec in declared.items():
        require_keys(f"input {name}", spec, INPUT_KEYS)
        value = given.get(name, spec.get("defaults"))
        if value is None:
            if spec.get("required", True):
                raise TaskFailed(f"Missing required input value '{name}'")
            continue
        if spec["type"] == "DURATION":
            seconds(value)  # Kestra refuses a value that is not a duration
        elif spec["type"] != "STRING":
            raise NotEmulated(f"input type {spec['type']}")
        out[name] = str(value)
    return out


def retry_delay(retry: Mapping[str, Any] | None, attempt: int, started: float) -> float | None:
    """Seconds before attempt ``attempt + 1``, or None when the task has no retry left."""
    if not retry:
        return None
    kind = retry.get("type")
    if kind not in RETRY_KEYS:
        raise NotEmulated(f"retry type {kind}")
    require_keys(f"retry {kind}", retry, RETRY_KEYS[kind])
    if retry.get("maxAttempts") is not None and attempt >= int(retry["maxAttempts"]):
        return None
    interval = seconds(retry["interval"])
    if kind == "exponential":
        factor = int(retry.get("delayFactor") or 2)
        delay = min(interval * factor * (attempt - 1), seconds(retry["maxInterval"]))
    else:
        delay = interval
    if "maxDuration" in retry and time.monotonic() + delay > started + seconds(
        retry["maxDuration"]
    ):
        return None
    return delay


def as_bool(value: Any) -> bool:
    """A rendered Property<Boolean>."""
    if isinstance(value, bool):
        return value
    if str(value) in ("true", "false"):
        return str(value) == "true"
    raise NotEmulated(f"not a boolean: {value!r}")


@dataclass(frozen=True)
class TaskType:
    """How the engine runs one Kestra task type: its properties beyond id/type/description/
    disabled (and retry for runnable tasks), and ``run(task, runner)`` -> outputs or None."""

    run: Callable[[Mapping[str, Any], Any], dict[str, Any] | None]
    properties: frozenset[str]
    runnable: bool


TASK_TYPES: dict[str, TaskType] = {}


def task_type(*names: str, properties: Iterable[str], runnable: bool = True):
    """Register a task implementation under its type (and the aliases Kestra accepts)."""

    def register(run):
        for name in names:
            TASK_TYPES[name] = TaskType(run, frozenset(properties), runnable)
        return run

    return register


def rendered(runner: Any, value: Any) -> Any:
    try:
        return render(value, runner.context, runner.kestra.secrets)
    except PebbleError as exc:
        raise TaskFailed(str(exc)) from exc
