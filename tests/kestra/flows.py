"""Reading the Kestra flows and the Pebble expressions they use (a test-side helper)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

FLOWS_DIR = Path(__file__).resolve().parents[2] / "kestra_flows"
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


def render(value: Any, context: dict[str, Any]) -> Any:
    """Render the Pebble subset our flows use: secret('X'), vars.x, outputs.t.p, flow/task/execution
    attributes, and a ``!=`` / ``==`` comparison with a quoted string."""

    def lookup(path: str) -> Any:
        secret = re.fullmatch(r"secret\('([A-Za-z0-9_]+)'\)", path)
        if secret:
            return context["secrets"][secret.group(1)]
        cmp = re.fullmatch(r"(.+?)\s*(==|!=)\s*'([^']*)'", path)
        if cmp:
            left = lookup(cmp.group(1).strip())
            return (left == cmp.group(3)) == (cmp.group(2) == "==")
        node: Any = context
        for part in path.split("."):
            node = node[part]
        return node

    if isinstance(value, str):
        whole = EXPRESSION.fullmatch(value.strip())
        if whole:
            return lookup(whole.group(1).strip())
        return EXPRESSION.sub(lambda m: str(lookup(m.group(1).strip())), value)
    if isinstance(value, dict):
        return {k: render(v, context) for k, v in value.items()}
    if isinstance(value, list):
        return [render(v, context) for v in value]
    return value
