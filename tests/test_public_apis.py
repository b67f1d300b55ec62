"""adw and its tests use only the public API of the libraries they build on: a private module,
a name the package does not export, or another library's private attribute can change in any
patch release inside the ranges pyproject.toml allows."""

from __future__ import annotations

import ast
import importlib
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("adw_assets", "dashboard", "bench", "tests")
LIBRARIES = (
    "dagster", "dagster_dbt", "dagster_airbyte", "dagster_gcp", "dagster_graphql",
    "dagster_webserver", "dagster_postgres", "dagster_omni",
)  # fmt: skip
"""Imported only from the package itself (``from dagster_dbt import X``), names it exports."""
ALLOWED: set[tuple[str, ...]] = set()
"""Each exception, with its reason; anything else private fails."""
NAMEDTUPLE = {"_replace", "_asdict", "_fields", "_make"}
"""Public despite the underscore: the methods of every named tuple (``SplitResult._replace``)."""


def _files() -> list[Path]:
    return sorted(p for d in SOURCES for p in (ROOT / d).rglob("*.py") if ".venv" not in p.parts)


def _trees() -> Iterator[tuple[str, ast.AST]]:
    for path in _files():
        yield str(path.relative_to(ROOT)), ast.parse(path.read_text(), str(path))


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _exported(package: str, name: str) -> bool:
    return not _private(name) and hasattr(importlib.import_module(package), name)


def import_findings(where: str, tree: ast.AST) -> list[str]:
    """Imports of a library's private or submodule (``dagster._core``, ``dagster_dbt.core``)
    and of names its package does not export."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            modules = [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            modules = [(node.module, [alias.name for alias in node.names])]
        else:
            continue
        for module, names in modules:
            package, *rest = module.split(".")
            if package not in LIBRARIES or (where, module, *(names or [])) in ALLOWED:
                continue
            line = f"{where}:{node.lineno}"
            if rest:
                found.append(f"{line}: imports {module} (import from {package} itself)")
            for name in names or []:
                if not _exported(package, name):
                    found.append(f"{line}: imports {name}, which {package} does not export")
    return found


def _own_private_names(trees: list[tuple[str, ast.AST]]) -> set[str]:
    """Private names adw itself defines: functions, classes, attributes, variables."""
    names = set()
    for _, tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                names.add(node.name)
            elif isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                names.add(node.id)
            elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
                names.add(node.attr)
            elif isinstance(node, ast.arg):
                names.add(node.arg)
    return {n for n in names if _private(n)}


def attribute_findings(trees: list[tuple[str, ast.AST]]) -> list[str]:
    """``x._name`` where adw defines no ``_name``: a private attribute of a library's object
    (``client._single_request``, ``dg._check``)."""
    own = _own_private_names(trees)
    found = []
    for where, tree in trees:
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Attribute)
                and _private(node.attr)
                and node.attr not in own | NAMEDTUPLE
            ):
                found.append(f"{where}:{node.lineno}: uses {ast.unparse(node)}")
    return found


def test_no_private_or_unexported_library_import():
    findings = [f for where, tree in _trees() for f in import_findings(where, tree)]
    assert findings == [], "\n".join(findings)


def test_no_private_attribute_of_a_library_object():
    findings = attribute_findings(list(_trees()))
    assert findings == [], "\n".join(findings)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("from dagster._core.definitions import AssetKey", "imports dagster._core.definitions"),
        (
            "from dagster_dbt.core.dbt_event_iterator import DbtCliResource",
            "import from dagster_dbt itself",
        ),
        ("import dagster_airbyte.resources", "imports dagster_airbyte.resources"),
        ("from dagster_dbt import DbtEventIterator", "which dagster_dbt does not export"),
        ("from dagster import _check", "which dagster does not export"),
    ],
)
def test_the_import_check_finds_what_it_looks_for(source, expected):
    (finding,) = import_findings("x.py", ast.parse(source))
    assert expected in finding
    assert (
        import_findings(
            "x.py", ast.parse("import dagster as dg\nfrom dagster_dbt import DbtCliResource")
        )
        == []
    )


def test_the_attribute_check_finds_a_library_private_but_not_adws_own():
    own = ast.parse("class A:\n    def __init__(self):\n        self._lock = 1\n")
    uses = ast.parse("client._single_request()\nother._lock\nx.__class__\n")
    assert attribute_findings([("a.py", own), ("b.py", uses)]) == [
        "b.py:1: uses client._single_request"
    ]
