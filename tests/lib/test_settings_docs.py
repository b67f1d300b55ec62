"""The README "Configuration" table and .env.example are the ones the settings declare."""

from __future__ import annotations

import re
from pathlib import Path

from adw_assets.lib import settings_docs as docs
from adw_assets.settings import COMPOSE_ONLY, variables

ROOT = Path(__file__).resolve().parents[2]


def test_readme_table_is_the_generated_one():
    readme = (ROOT / "README.md").read_text()
    assert readme == docs.readme_with_table(readme), (
        "the README settings table is stale: python -m adw_assets.lib.settings_docs --readme"
    )


def test_readme_table_lists_exactly_the_declared_variables():
    readme = (ROOT / "README.md").read_text()
    table = readme[readme.index(docs.README_START) : readme.index(docs.README_END)]
    rows = re.findall(r"^\| `(ADW_[A-Z0-9_]+)` \| ([^|]+) \| ([^|]+) \| ([^|]+) \|$", table, re.M)
    assert [name for name, *_ in rows] == [*variables(), *COMPOSE_ONLY]
    assert all(
        kind.strip() and default.strip() and meaning.strip() for _, kind, default, meaning in rows
    )


def test_env_example_is_the_generated_one_and_lists_every_variable():
    text = (ROOT / ".env.example").read_text()
    assert text == docs.env_example(), (
        ".env.example is stale: python -m adw_assets.lib.settings_docs --env-example > .env.example"
    )
    entries = re.findall(r"((?:^# (?![A-Z0-9_]+=).*\n)+)^(?:# )?([A-Z][A-Z0-9_]*)=", text, re.M)
    stack = ["POSTGRES_USER"]  # the passwords are compose secrets (files), not variables
    assert sorted(name for _, name in entries) == sorted([*variables(), *COMPOSE_ONLY, *stack])
    for comment, name in entries:  # each with its meaning; adw's with type and default too
        assert len(comment) > 20, name
        assert name not in variables() or "; default: " in " ".join(comment.split()), name


def test_docs_follow_a_declaration(monkeypatch):
    """A variable added to the settings shows up in both files (and so fails the two tests
    above until they are regenerated)."""
    from pydantic.fields import FieldInfo

    extra = FieldInfo(annotation=int, default=7, description="a new knob", alias="ADW_NEW_KNOB")
    monkeypatch.setattr(docs, "variables", lambda: {**variables(), "ADW_NEW_KNOB": extra})
    assert "| `ADW_NEW_KNOB` | whole number | `7` | a new knob |" in docs.readme_table()
    assert "# a new knob.\n# whole number; default: 7.\nADW_NEW_KNOB=7\n" in docs.env_example()
