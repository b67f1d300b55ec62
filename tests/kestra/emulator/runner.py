"""One emulated execution: branches, the errors branch, retries, plugin defaults.

The rules and their Kestra sources are listed in tests/kestra/emulator/engine.py.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Mapping
from typing import Any

# importing them registers the task types
import tests.kestra.emulator.dagster
import tests.kestra.emulator.tasks  # noqa: F401
from tests.kestra.emulator.engine import (
    TASK_KEYS,
    TASK_TYPES,
    Execution,
    NotEmulated,
    TaskFailed,
    rendered,
    require_keys,
    retry_delay,
)


class Runner:
    def __init__(self, kestra, flow: Mapping[str, Any], execution: Execution):
        self.kestra = kestra
        self.flow = flow
        self.execution = execution
        self.context = {
            "flow": {"id": flow["id"], "namespace": flow["namespace"]},
            "execution": {"id": execution.id},
            "inputs": execution.inputs,
            "vars": flow.get("variables") or {},
            "outputs": execution.outputs,
        }
        self.defaults: dict[str, dict[str, Any]] = {}
        for default in flow.get("pluginDefaults") or []:
            require_keys("pluginDefaults", default, {"type", "values"})
            self.defaults.setdefault(default["type"], {}).update(default["values"])

    def run(self) -> None:
        try:
            self.run_branch(self.flow["tasks"], self.flow.get("errors"))
        except TaskFailed:
            self.execution.state = "FAILED"
        else:
            self.execution.state = "SUCCESS"

    def render(self, value: Any) -> Any:
        return rendered(self, value)

    def run_branch(self, tasks: list[Mapping[str, Any]], errors: list | None = None) -> None:
        """``tasks`` in order; on the first failure, every ``errors`` task, then FAILED."""
        for task in tasks:
            try:
                self.run_task(task)
            except TaskFailed as failure:
                for handler in errors or []:
                    with contextlib.suppress(TaskFailed):  # recorded; the next ones still run
                        self.run_task(handler)
                raise TaskFailed(f"task {task['id']} failed") from failure

    def run_task(self, task: Mapping[str, Any]) -> None:
        task = self._with_defaults(task)
        kind = TASK_TYPES.get(task.get("type"))
        if kind is None:
            raise NotEmulated(f"task type {task.get('type')} (task {task.get('id')})")
        allowed = TASK_KEYS | kind.properties | ({"retry"} if kind.runnable else set())
        require_keys(f"task {task['id']} ({task['type']})", task, allowed)
        if task.get("disabled"):
            return
        started, attempt = time.monotonic(), 0
        while True:
            attempt += 1
            self.execution.attempts[task["id"]] += 1
            try:
                outputs = kind.run(task, self)
            except TaskFailed as exc:
                delay = retry_delay(task.get("retry"), attempt, started) if kind.runnable else None
                if delay is None:
                    self.execution.failures.append((task["id"], str(exc)))
                    raise
                time.sleep(delay)
                continue
            if outputs is not None:
                self.execution.outputs[task["id"]] = outputs
            return

    def _with_defaults(self, task: Mapping[str, Any]) -> dict[str, Any]:
        defaults = self.defaults.get(task.get("type"), {})
        clash = set(defaults) & set(task)
        if clash:
            raise NotEmulated(f"task {task['id']} sets {sorted(clash)}, also in pluginDefaults")
        return {**defaults, **task}
