"""What a whole ``dbt build`` reads, input by input, and what a build after new data must rebuild.

Plain Python (no Dagster). :func:`build_state` takes, before a build, a fingerprint of each input
of the dbt project: the project itself with its environment and the day (``project``), and each
dbt source (``sources``: every replicated table, the web events). The dbt step records the state
its whole build read once it succeeded (``$ADW_HOME/dbt/last_build.json``), and compares the next
state with it:

* equal: nothing new; ``adw build`` does nothing (``cli/build.py``), a job's dbt step builds
  nothing;
* the same project, some sources changed: only the models downstream of those sources are
  rebuilt, with their tests (:func:`warm_exclusion`);
* anything else (no record, another project, environment or day, a failed build in between):
  everything is rebuilt.

A build of a selection that succeeded keeps the record, and moves a source on only when it
rebuilt everything downstream of it (:func:`after_selection`): the sensor's ``web_events_job``
does not make the next ``elt_job`` rebuild everything.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from typing import Any

from adw_assets.lib.dbt import dbt_env, fingerprint
from adw_assets.settings import Settings, get_settings

LAST_BUILD = "last_build.json"
"""``$ADW_HOME/dbt/last_build.json``: the :func:`build_state` read by the last whole build that
succeeded, and its Dagster run."""
WEB_EVENTS = "web.events"
"""The dbt source of the landed web events (``dbt/models/staging/web``)."""
BUILT = ("model", "seed", "snapshot")
"""dbt resource types a build materializes (the rest are tests, run after their parents)."""


def _hash(*parts: object) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(str(part).encode())
    return digest.hexdigest()


def build_state(settings: Settings | None = None) -> dict | None:
    """A fingerprint of each input of a whole ``dbt build``, or ``None`` when it cannot be told
    cheaply (BigQuery: every look costs a query; no warehouse or replicated table yet).

    ``project``: the dbt project (:func:`adw_assets.lib.dbt.fingerprint`), the environment dbt
    runs with (the salt only inside the hash) and today's date (``dim_dates`` runs to the end of
    the current year). ``sources``: ``<schema>.<table>`` of each replicated table (its row count
    and latest ``_airbyte_extracted_at``: new rows and updated ones both move it) and
    ``web.events`` (the landed files: name, size, modification time)."""
    s = settings or get_settings()
    if s.warehouse != "duckdb" or not s.duckdb_path.exists():
        return None
    from datetime import UTC, datetime

    from adw_assets.lib.source.catalog import TABLES
    from adw_assets.lib.warehouse import connect_to_read, qualified

    env = {k: v for k, v in dbt_env(s).items() if k != "PATH"}
    project = _hash(fingerprint(s), json.dumps(env, sort_keys=True), datetime.now(UTC).date())
    sources: dict[str, str] = {}
    con = connect_to_read(s.duckdb_path)
    try:
        for table in TABLES:
            namespace = f"{s.raw_prefix}{table.schema}"
            exists = con.execute(
                "select count(*) from information_schema.tables "
                "where table_schema = ? and table_name = ?",
                [namespace, table.name],
            ).fetchone()[0]
            if not exists:
                return None
            relation = qualified(namespace, table.name)
            row = con.execute(f"select count(*), max(_airbyte_extracted_at) from {relation}")
            sources[f"{table.schema}.{table.name}"] = _hash(relation, row.fetchone())
    finally:
        con.close()
    landing = s.events_dir / "landing"
    files = []
    for path in sorted(landing.rglob("*.parquet")) if landing.exists() else []:
        stat = path.stat()
        files.append(f"{path.relative_to(landing)}:{stat.st_size}:{stat.st_mtime_ns}")
    sources[WEB_EVENTS] = _hash(*files)
    return {"project": project, "sources": sources}


def changed_sources(previous: Mapping[str, Any] | None, state: Mapping[str, Any] | None):
    """The sources whose fingerprint moved since ``previous`` (a set, empty when nothing is
    new), or ``None`` when everything must be rebuilt (no state, no record, or another project,
    environment or day)."""
    if not previous or not state or previous.get("project") != state["project"]:
        return None
    before = previous.get("sources") or {}
    if set(before) != set(state["sources"]):
        return None
    return {name for name, value in state["sources"].items() if before[name] != value}


def reached(manifest: Mapping[str, Any], sources: Iterable[str]) -> set[str]:
    """Unique ids of the models, seeds and snapshots downstream of the dbt sources ``sources``
    (``<source name>.<table>``): what new data in them changes. A model reading two sources is
    reached through either."""
    wanted = set(sources)
    todo = [
        uid
        for uid, node in manifest["sources"].items()
        if f"{node['source_name']}.{node['name']}" in wanted
    ]
    seen: set[str] = set()
    while todo:
        for child in manifest["child_map"].get(todo.pop(), []):
            if child not in seen:
                seen.add(child)
                todo.append(child)
    return {uid for uid in seen if manifest["nodes"].get(uid, {}).get("resource_type") in BUILT}


def warm_exclusion(
    manifest: Mapping[str, Any], changed: Iterable[str], together: Iterable[str] = ()
) -> tuple[set[str], list[str]]:
    """What a build after new data in the sources ``changed`` rebuilds (unique ids), and the dbt
    ``--exclude`` that leaves the rest out: the models, seeds and snapshots not reached, and the
    unchanged sources. Run with cautious indirect selection, a test is left out only when all
    its parents are (a relationship test from a rebuilt fact to an unchanged dimension runs).

    ``together``: nodes rebuilt all at once when any of them is (the marts of the dashboard
    snapshot: Dagster skips an asset when one of its parents in the run was not built, so the
    snapshot would keep stale figures)."""
    changed = set(changed)
    rebuilt = reached(manifest, changed)
    together = set(together)
    if rebuilt & together:
        rebuilt |= together
    exclude = sorted(
        node["name"]
        for uid, node in manifest["nodes"].items()
        if node["resource_type"] in BUILT and uid not in rebuilt
    )
    exclude += sorted(
        f"source:{node['source_name']}.{node['name']}"
        for node in manifest["sources"].values()
        if f"{node['source_name']}.{node['name']}" not in changed
    )
    return rebuilt, exclude


def after_selection(
    manifest: Mapping[str, Any],
    previous: Mapping[str, Any] | None,
    state: Mapping[str, Any] | None,
    built: Iterable[str],
) -> dict | None:
    """What the record says after a build of a selection succeeded (``built``: the unique ids
    it materialized): a source that moved counts as built only when everything downstream of it
    was; the others keep their recorded state (the models the selection left out still hold
    it). ``None`` (rebuild everything next) when there was no record or the project changed."""
    if not previous or not state or previous.get("project") != state["project"]:
        return None
    sources = dict(previous.get("sources") or {})
    if set(sources) != set(state["sources"]):
        return None
    built = set(built)
    for name, value in state["sources"].items():
        if sources[name] != value and reached(manifest, {name}) <= built:
            sources[name] = value
    return {"project": state["project"], "sources": sources}


def last_build(settings: Settings | None = None) -> dict | None:
    """What :func:`record_build` wrote, if anything."""
    path = (settings or get_settings()).home / "dbt" / LAST_BUILD
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def record_build(settings: Settings, state: Mapping[str, Any] | None, run_id: str) -> None:
    """Remember the state a whole build read once it succeeded (``None``: forget it, so that
    the next build rebuilds everything)."""
    path = settings.home / "dbt" / LAST_BUILD
    if state is None:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{LAST_BUILD}.{os.getpid()}")
    temporary.write_text(json.dumps({"state": state, "run_id": run_id}))
    os.replace(temporary, path)
