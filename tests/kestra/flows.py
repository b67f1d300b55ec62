"""Reading the Kestra flows and the Pebble expressions they use (a test-side helper)."""

from __future__ import annotations

import copy
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

FLOWS_DIR = Path(__file__).resolve().parents[2] / "kestra_flows"
FIXTURES_DIR = Path(__file__).resolve().parent / "fixtures"
SUBFLOW = "io.kestra.plugin.core.flow.Subflow"
EXPRESSION = re.compile(r"\{\{(.*?)\}\}", re.S)


def flow_files() -> list[Path]:
    return sorted(FLOWS_DIR.glob("*.yml")) + sorted(FLOWS_DIR.glob("*.yaml"))


def load(path: Path) -> dict[str, Any]:
    with path.open() as fh:
        return yaml.safe_load(fh)


def iter_tasks(tasks: list[dict[str, Any]]):
    """Every task, depth first in document order (flowable tasks' children included)."""
    for task in tasks or []:
        yield task
        for key in ("tasks", "then", "else", "errors", "finally"):
            child = task.get(key)
            if isinstance(child, list):
                yield from iter_tasks(child)
        cases = task.get("cases")
        if isinstance(cases, dict):
            for branch in cases.values():
                yield from iter_tasks(branch)


def expressions(value: Any) -> list[str]:
    """The inside of every ``{{ ... }}`` in a YAML value, recursively."""
    if isinstance(value, str):
        return [m.strip() for m in EXPRESSION.findall(value)]
    if isinstance(value, dict):
        return [e for v in value.values() for e in expressions(v)]
    if isinstance(value, list):
        return [e for v in value for e in expressions(v)]
    return []


def all_flows() -> dict[str, dict[str, Any]]:
    """Every committed flow, by id."""
    return {path.stem: load(path) for path in flow_files()}


def secrets_for(graphql_url: str) -> dict[str, str]:
    """The secrets the flows read, as the Kestra server would hold them (decoded)."""
    return {"ADW_DAGSTER_GRAPHQL_URL": graphql_url, "ADW_DAGSTER_TOKEN": "kestra-test-token"}


def with_subflow_inputs(flow: Mapping[str, Any], **inputs: str) -> dict[str, Any]:
    """A copy of ``flow`` whose Subflow task passes ``inputs`` (e.g. a shorter max_wait):
    how the tests shorten durations without editing the committed flows."""
    flow = copy.deepcopy(dict(flow))
    (call,) = [t for t in iter_tasks(flow["tasks"]) if t["type"] == SUBFLOW]
    unknown = set(inputs) - set(call["inputs"])
    assert not unknown, f"{flow['id']} passes no input {sorted(unknown)}"
    call["inputs"].update(inputs)
    return flow
