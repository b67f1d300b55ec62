"""The README "Configuration" table and ``.env.example``, written from the declarations in
:mod:`adw_assets.settings` (and the compose stack's defaults in ``compose.yaml``), so neither
can drift from what adw reads. ``tests/test_settings.py`` compares both files with this::

    python -m adw_assets.lib.settings_docs --readme       # the table between the README markers
    python -m adw_assets.lib.settings_docs --env-example > .env.example
"""

from __future__ import annotations

import argparse
import re
import sys
import textwrap
import typing
from pathlib import Path

from pydantic import SecretStr
from pydantic.fields import FieldInfo

from adw_assets.lib.paths import PACKAGE_DIR, REPO_ROOT
from adw_assets.settings import BQ_PROJECT, COMPOSE_ONLY, DUCKDB_LIMIT, DUCKDB_SIZE, variables

ROOT = REPO_ROOT or PACKAGE_DIR.parent  # the checkout: README.md, .env.example, compose.yaml
README_START = "<!-- settings table: python -m adw_assets.lib.settings_docs --readme -->"
README_END = "<!-- end of settings table -->"

GROUP_STARTS = {
    "ADW_HOME": "adw: core",
    "ADW_REPLICATION_LAG_SECONDS": "adw: replication",
    "ADW_DBT_EXECUTABLE": "adw: dbt",
    "ADW_EVENTS_LOOKBACK_HOURS": "adw: web events",
    "ADW_BQ_PROJECT": "adw: BigQuery (with ADW_WAREHOUSE=bigquery and ADW_IMAGE_EXTRAS=bigquery)",
    "ADW_AIRBYTE_URL": "adw: Airbyte (with ADW_REPLICATION=airbyte; see docs/airbyte.md)",
    "ADW_OMNI_URL": "adw: Omni (dashboards in the lineage; see docs/omni.md)",
}
"""The first setting of each group, in declaration order (the sections of ``.env.example``)."""

STACK_SECTIONS = {
    "images": ["ADW_BASE_IMAGE", "ADW_IMAGE", "ADW_POSTGRES_IMAGE", "ADW_IMAGE_EXTRAS"],
    "secrets (compose secrets: files, never variables)": ["ADW_SECRETS_DIR"],
    "PostgreSQL: the AdventureWorks source and Dagster's storage": [
        "POSTGRES_USER", "ADW_SOURCE_DB", "ADW_DAGSTER_DB",
    ],
    "seeding (the one-shot `seed` service)": ["ADW_SEED_SCALE", "ADW_SEED", "ADW_SEED_DATA_DIR"],
    "the webserver on the host": ["ADW_BIND_ADDRESS"],
    "BigQuery credentials (with ADW_WAREHOUSE=bigquery)": ["ADW_GCP_KEY_FILE"],
    "Kestra (profile `kestra`: docker compose --profile kestra up; docs/orchestration.md)": [
        "ADW_KESTRA_IMAGE", "ADW_KESTRA_PORT",
    ],
}  # fmt: skip
STACK_MEANINGS = {
    **COMPOSE_ONLY,
    "POSTGRES_USER": "superuser of the stack's Postgres, used by its set-up only (the services "
    "connect as adw_source, adw_replicator and adw_dagster)",
}
EXAMPLE_VALUES = {
    "ADW_GCP_KEY_FILE": "",  # compose mounts /dev/null then, and sets no credentials
}
"""What ``.env.example`` sets where compose.yaml's default is not it (required, or a stand-in)."""
SET_BY_STACK = {
    "ADW_HOME": "the adw image sets /var/lib/adw (the adw-home volume)",
    "ADW_DUCKDB_PATH": "the adw image sets /var/lib/adw/warehouse.duckdb",
    "ADW_SOURCE_DSN": "compose.yaml sets it: adw_replicator (read-only) in the code location, "
    "adw_source in the seed; the password is a compose secret",
    "ADW_REPLICATION_DSN": "compose.yaml sets it: adw_replicator; the password is a compose secret",
    "ADW_CARD_HASH_SALT": "a compose secret: the file card_hash_salt in ADW_SECRETS_DIR",
    "ADW_DAGSTER_URL": "read by `adw launch` on the host",
    "ADW_DAGSTER_TOKEN": "read by `adw launch` on the host; the profile `kestra` gives it to "
    "Kestra's flows (default none: Dagster OSS does not check it)",
    "ADW_DASHBOARD_PORT": "read by `adw dashboard` on the host",
    "ADW_TEST_PAUSE_AT": "tests only",
    "ADW_DBT_EXECUTABLE": "the image's own dbt (for BigQuery, build it with the bigquery extra)",
    "ADW_AIRBYTE_SPECS": "the image holds the file shipped with adw (refresh it in the checkout)",
}
"""Settings the stack does not take from ``.env`` (listed there commented out, with why)."""
ENV_HEADER = """\
# Settings of the compose stack (compose.yaml) and of adw. Copy to .env (never commit .env);
# everything has a working default, and an empty value means the default. Passwords and the
# card-hash salt are not settings here but compose secrets, one file each in ADW_SECRETS_DIR:
# `sh docker/make-secrets.sh` writes random ones. Generated from adw_assets/settings.py and
# compose.yaml by `python -m adw_assets.lib.settings_docs --env-example > .env.example`.
"""


def compose_defaults(text: str | None = None) -> dict[str, str | None]:
    """``${NAME:-default}`` of compose.yaml: name -> default; ``None`` when it is required."""
    text = text if text is not None else (ROOT / "compose.yaml").read_text()
    found = re.findall(r"\$\{([A-Z_][A-Z0-9_]*)(?:(:?[-?+])([^}]*))?\}", text)
    return {name: None if "?" in op else value for name, op, value in found if op != ":+"}


def _stack_value(name: str) -> str | None:
    """What ``.env.example`` sets for a variable of the stack; ``None``: compose requires it."""
    return EXAMPLE_VALUES.get(name, compose_defaults().get(name))


def kind(name: str, field: FieldInfo) -> str:
    """The type as the docs state it, with its limits."""
    base = field.annotation
    if typing.get_origin(base) is not typing.Literal:  # X | None -> X
        base = next(a for a in typing.get_args(base) or (base,) if a is not type(None))
    limits = {k: getattr(m, k) for m in field.metadata for k in ("ge", "gt", "le", "pattern")
              if getattr(m, k, None) is not None}  # fmt: skip
    if typing.get_origin(base) is typing.Literal:
        return " or ".join(f"`{choice}`" for choice in typing.get_args(base))
    if limits.get("pattern") == DUCKDB_SIZE:
        return "DuckDB size"
    if limits.get("pattern") == DUCKDB_LIMIT:
        return "DuckDB size or %"
    if limits.get("pattern") == BQ_PROJECT:
        return "project id"
    if "pattern" in limits:
        return "identifier prefix"
    if base in (int, float):
        text = "whole number" if base is int else "number"
        if "le" in limits:
            return f"{text} {_number(limits.get('ge', 0))}-{_number(limits['le'])}"
        if "ge" in limits:
            return f"{text} >= {_number(limits['ge'])}"
        return f"{text} > {_number(limits['gt'])}" if "gt" in limits else text
    if name.endswith("_DSN"):
        return "DSN (secret)"
    if name.endswith(("_URL", "_ENDPOINT")):
        return "URL"
    return {bool: "true/false", Path: "path", SecretStr: "secret"}.get(base, "text")


def _number(value: float) -> str:
    return format(value, "g")


def default_text(field: FieldInfo) -> str:
    """The default as the README states it."""
    shown = (field.json_schema_extra or {}).get("shown")
    if shown:
        return str(shown)
    if field.default is None:
        return "unset"
    return f"`{env_value(field)}`"


def env_value(field: FieldInfo) -> str:
    """The default as ``.env`` and compose.yaml write it (empty when computed or unset)."""
    value = field.default
    if (field.json_schema_extra or {}).get("shown") or value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    return _number(value) if isinstance(value, float) else str(value)


def meaning(field: FieldInfo) -> str:
    return " ".join((field.description or "").split())


def readme_table() -> str:
    rows = ["| variable | type | default | meaning |", "|---|---|---|---|"]
    for name, field in variables().items():
        cells = (f"`{name}`", kind(name, field), default_text(field), meaning(field))
        rows.append("| " + " | ".join(cells) + " |")
    for name, text in COMPOSE_ONLY.items():
        value = _stack_value(name)
        shown = f"`{value}`" if value else "empty"
        shown = "required" if compose_defaults().get(name, "") is None else shown
        rows.append(f"| `{name}` | compose only | {shown} | {text} |")
    return "\n".join(rows) + "\n"


def _comment(text: str) -> list[str]:
    return textwrap.wrap(text, 98, initial_indent="# ", subsequent_indent="# ")


def env_example() -> str:
    out = [ENV_HEADER]
    for title, names in STACK_SECTIONS.items():
        out.append(f"\n# --- {title} ---\n")
        for name in names:
            out += [line + "\n" for line in _comment(STACK_MEANINGS[name] + ".")]
            out.append(f"{name}={_stack_value(name) or ''}\n")
    for name, field in variables().items():
        if name in GROUP_STARTS:
            out.append(f"\n# --- {GROUP_STARTS[name]} ---\n")
        about = f"{kind(name, field)}; default: {default_text(field)}"
        commented = name in SET_BY_STACK and name not in compose_defaults()
        if name in SET_BY_STACK:
            about += f"; {'not set here: ' if commented else ''}{SET_BY_STACK[name]}"
        for text in (meaning(field) + ".", about + "."):
            out += [line + "\n" for line in _comment(text.replace("`", ""))]
        out.append(f"# {name}=\n" if commented else f"{name}={env_value(field)}\n")
    return "".join(out)


def readme_with_table(readme: str) -> str:
    """``readme`` with the text between the settings-table markers replaced."""
    start, end = readme.index(README_START) + len(README_START), readme.index(README_END)
    return readme[:start] + "\n" + readme_table() + readme[end:]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Write adw's settings documentation.")
    which = parser.add_mutually_exclusive_group(required=True)
    which.add_argument("--readme", action="store_true", help="update the table in README.md")
    which.add_argument("--env-example", action="store_true", help="print .env.example")
    args = parser.parse_args(argv)
    if REPO_ROOT is None:
        sys.exit("settings_docs writes the checkout's README.md and .env.example: run it there.")
    if args.env_example:
        sys.stdout.write(env_example())
        return
    readme = ROOT / "README.md"
    readme.write_text(readme_with_table(readme.read_text()))


if __name__ == "__main__":
    main()
