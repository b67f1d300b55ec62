"""The serving layer: a read-only DuckDB snapshot of what the dashboard's metrics read.

DuckDB lets one process write a database file, and while it does no other process can open
the file at all; BigQuery bills every query. So the dashboard never opens the warehouse: right
after a build, the ``dashboard/snapshot`` asset calls :func:`export_snapshot`, which copies the
relations of the dbt exposure ``dashboard`` (:func:`dashboard_marts`: the facts, dims and time
spine the semantic models read, and the correlation mart) from the warehouse (DuckDB or
BigQuery, through Parquet) into one DuckDB file, ``$ADW_HOME/serving/snapshot.duckdb``, each
table under its dbt schema (dataset) and name, together with the semantic manifest dbt wrote
(table ``_adw.semantic_manifest``), its relations pointed at the snapshot's tables. The file
is written under a temp name and renamed over the old one: a reader sees the old snapshot or
the new one, never half of one, and the metrics always match the manifest they were built with.

:class:`Snapshot` attaches the file read-only, builds MetricFlow's engine once per semantic
manifest and caches the SQL MetricFlow compiles per query (``lib/metrics.py``), so a page's
queries after the first load only run DuckDB on the snapshot.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from adw_assets.errors import AdwError
from adw_assets.lib.retry import retrying
from adw_assets.lib.warehouse import quote
from adw_assets.lib.warehouse.interface import Warehouse
from adw_assets.settings import Settings, get_settings

if TYPE_CHECKING:  # pandas only where a query returns a frame (the dashboard), not on import
    import pandas as pd

log = logging.getLogger(__name__)

MANIFEST = "_snapshot.json"
"""Written last by each export: when, from which warehouse, which marts and their row counts."""


class SnapshotError(AdwError):
    """The snapshot cannot be exported or read; the message says what to run."""


def serving_dir(settings: Settings | None = None) -> Path:
    """``$ADW_HOME/serving``: where the snapshot lives."""
    return (settings or get_settings()).home / "serving"


@dataclass(frozen=True)
class Mart:
    """A mart the dashboard reads, as the dbt project declares it (the ``dashboard`` exposure)."""

    name: str
    dataset: str
    """Schema (DuckDB) or dataset (BigQuery) the mart is built in, for the current target."""
    columns: tuple[str, ...]
    """The columns dbt declares for it (its contract)."""
    hint: str
    """What to run when it is missing."""


DASHBOARD_EXPOSURE = "dashboard"
_BUILD = "run `adw up` (or `adw build`) first"
_WEB = "run `adw events stream` (or `adw events generate`) and `adw build`, or `adw up`"


def dashboard_marts(manifest: Mapping[str, Any]) -> list[Mart]:
    """The marts of the dbt exposure ``dashboard`` (dbt/models/marts/_marts__exposures.yml),
    with their declared columns: the one list of what the dashboard reads."""
    exposures = [e for e in manifest["exposures"].values() if e["name"] == DASHBOARD_EXPOSURE]
    if not exposures:
        raise SnapshotError(f"the dbt project declares no exposure {DASHBOARD_EXPOSURE!r}")
    nodes = manifest["nodes"]

    def reads_web_events(unique_id: str, seen: set[str]) -> bool:
        if unique_id.startswith("source.") or unique_id in seen:
            return unique_id.endswith(".web.events")
        seen.add(unique_id)
        parents = nodes.get(unique_id, {}).get("depends_on", {}).get("nodes", [])
        return any(reads_web_events(p, seen) for p in parents)

    marts = []
    for unique_id in exposures[0]["depends_on"]["nodes"]:
        node = nodes[unique_id]
        web = reads_web_events(unique_id, set())
        marts.append(
            Mart(node["name"], node["schema"], tuple(node["columns"]), _WEB if web else _BUILD)
        )
    return marts


SNAPSHOT_DB = "snapshot.duckdb"
CATALOG = "snapshot"
"""The name the snapshot is attached under: its tables are ``snapshot.<schema>.<table>``."""
_META = "_adw"


def served_semantic_manifest(semantic_manifest: dict, schemas: Mapping[str, str]) -> dict:
    """The semantic manifest with every relation (semantic models, time spines) pointed at the
    snapshot's table: ``"snapshot"."<schema>"."<table>"``, whatever the warehouse (a BigQuery
    relation name would not parse as DuckDB SQL). ``schemas`` maps a table to its schema."""

    def point(node: Any) -> Any:
        if isinstance(node, dict):
            out = {k: point(v) for k, v in node.items()}
            relation = out.get("node_relation")
            if isinstance(relation, dict) and relation.get("alias") in schemas:
                alias = relation["alias"]
                schema = schemas[alias]
                out["node_relation"] = relation | {
                    "database": CATALOG,
                    "schema_name": schema,
                    "relation_name": f'"{CATALOG}"."{schema}"."{alias}"',
                }
            return out
        if isinstance(node, list):
            return [point(v) for v in node]
        return node

    return point(semantic_manifest)


def _atomic_write_json(path: Path, payload: dict) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=str))
    os.replace(tmp, path)


def export_snapshot(
    wh: Warehouse, marts: Sequence[Mart], serving_dir: Path | str, semantic_manifest: Path
) -> dict:
    """Export ``marts`` from the warehouse into ``<serving_dir>/snapshot.duckdb`` with the
    semantic manifest ``semantic_manifest`` (dbt's ``semantic_manifest.json``).

    Each relation goes through a Parquet file (the warehouse interface's export, DuckDB or
    BigQuery) into a new DuckDB file, table ``<schema>.<name>``; the file is renamed over the
    old one when complete (atomic on POSIX). A mart not built yet is listed under ``missing``.
    Returns the manifest, written last to ``_snapshot.json``: ``{"exported_at", "warehouse",
    "seconds", "marts": {name: {"dataset", "rows", "columns", "declared", "hint"}},
    "missing": {name: hint}}``.
    """
    out = Path(serving_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    try:
        semantic = json.loads(Path(semantic_manifest).read_text())
    except FileNotFoundError:
        raise SnapshotError(
            f"no semantic manifest at {semantic_manifest}: run `adw build`"
        ) from None
    exported: dict[str, dict] = {}
    missing: dict[str, str] = {}
    work = out / f".export-{uuid.uuid4().hex}"
    work.mkdir()
    try:
        db = work / SNAPSHOT_DB
        con = duckdb.connect(str(db))
        try:
            for mart in marts:
                if not wh.exists(mart.dataset, mart.name):
                    missing[mart.name] = mart.hint
                    continue
                parquet = work / f"{mart.name}.parquet"
                rows, columns = wh.export_parquet(mart.dataset, mart.name, parquet)
                con.execute(f"create schema if not exists {quote(mart.dataset)}")
                con.execute(
                    f"create table {quote(mart.dataset)}.{quote(mart.name)} as "
                    "select * from read_parquet(?)",
                    [str(parquet)],
                )
                parquet.unlink()
                exported[mart.name] = {
                    "dataset": mart.dataset, "rows": rows, "columns": columns,
                    "declared": list(mart.columns), "hint": mart.hint,
                }  # fmt: skip
            served = served_semantic_manifest(semantic, {m.name: m.dataset for m in marts})
            con.execute(f"create schema {_META}")
            con.execute(f"create table {_META}.semantic_manifest (manifest varchar)")
            con.execute(f"insert into {_META}.semantic_manifest values (?)", [json.dumps(served)])
            con.execute("checkpoint")
        finally:
            con.close()
        os.replace(db, out / SNAPSHOT_DB)
    finally:
        for leftover in work.glob("*"):
            leftover.unlink(missing_ok=True)
        work.rmdir()
    for stale in out.glob("*.parquet"):  # the Parquet files of the layout before (adw < 0.x)
        stale.unlink(missing_ok=True)
    manifest = {
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "warehouse": wh.name,
        "seconds": round(time.perf_counter() - started, 3),
        "marts": exported,
        "missing": missing,
    }
    _atomic_write_json(out / MANIFEST, manifest)
    log.info("snapshot: %d relations exported to %s", len(exported), out / SNAPSHOT_DB)
    return manifest


def read_manifest(directory: Path | str) -> dict | None:
    """The manifest of the last export, or ``None`` when nothing was exported yet."""
    try:
        return json.loads((Path(directory) / MANIFEST).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


class Snapshot:
    """The snapshot file attached read-only, and MetricFlow's engine over its semantic manifest.

    Thread-safe: :meth:`refresh` (under a lock) attaches the file again when it was replaced
    (inode, size or mtime changed) and rebuilds the engine only when the semantic manifest
    changed; :meth:`query` runs on a cursor of its own. The SQL MetricFlow compiles is cached
    per query (:meth:`metric_sql`).
    """

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._con: duckdb.DuckDBPyConnection | None = None
        self._layer: Any = None
        self._manifest_text: str | None = None
        self._sql: dict[tuple, str] = {}

    @property
    def path(self) -> Path:
        return self.directory / SNAPSHOT_DB

    def refresh(self) -> None:
        replaced = (FileNotFoundError, duckdb.IOException)
        with self._lock:
            retrying(replaced, first_wait=0.05, attempts=5)(self._attach)

    def _attach(self) -> None:
        try:
            st = self.path.stat()
        except FileNotFoundError:
            self._con, self._stamp = None, None
            return
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        if stamp == self._stamp:
            return
        con = duckdb.connect(":memory:")
        path = str(self.path).replace("'", "''")
        con.execute(f"attach '{path}' as {CATALOG} (read_only)")
        text = con.execute(f"select manifest from {CATALOG}.{_META}.semantic_manifest").fetchone()[
            0
        ]
        if text != self._manifest_text:
            from adw_assets.lib.metrics import DuckDBConnectionClient, SemanticLayer

            self._layer = SemanticLayer.from_json(text, DuckDBConnectionClient(con))
            self._manifest_text = text
            self._sql = {}
        else:
            self._layer.client.con = con
        self._con, self._stamp = con, stamp

    def _connection(self) -> duckdb.DuckDBPyConnection:
        if self._con is None:
            manifest = read_manifest(self.directory)
            raise SnapshotError(
                f"There is no dashboard snapshot in {self.directory}: "
                + ("run `adw build` (its asset dashboard/snapshot exports it)." if manifest
                   else "run `adw up` (or `adw build`) first.")
            )  # fmt: skip
        return self._con

    def tables(self) -> dict[str, list[str]]:
        """``{table: [columns]}`` in the snapshot."""
        rows = (
            self._connection()
            .cursor()
            .execute(
                "select table_name, list(column_name order by ordinal_position) "
                f"from information_schema.columns where table_catalog = '{CATALOG}' "
                f"and table_schema <> '{_META}' group by 1"
            )
        )
        return dict(rows.fetchall())

    def metric_sql(
        self, metrics: Sequence[str], group_by: Sequence[str] = (), where: Sequence[str] = ()
    ) -> str:
        """The SQL MetricFlow compiles for ``metrics`` by ``group_by`` (cached per query)."""
        self._connection()
        key = (tuple(metrics), tuple(group_by), tuple(where))
        sql = self._sql.get(key)
        if sql is None:
            sql = self._layer.sql(list(metrics), list(group_by), list(where))
            self._sql[key] = sql
        return sql

    def relation(self, mart: str) -> str:
        """``snapshot.<schema>.<mart>`` of a mart read as is."""
        exported = ((read_manifest(self.directory) or {}).get("marts") or {}).get(mart)
        if exported is None:
            raise self._missing(mart)
        return f"{CATALOG}.{quote(exported['dataset'])}.{quote(mart)}"

    def _missing(self, mart: str) -> SnapshotError:
        manifest = read_manifest(self.directory) or {}
        hint = (manifest.get("missing") or {}).get(mart) or _BUILD
        return SnapshotError(f"`{mart}` is not in the dashboard snapshot ({self.path}): {hint}.")

    def query(self, sql: str, params: list[object] | None = None) -> pd.DataFrame:
        try:
            return self._connection().cursor().execute(sql, params or []).df()
        except duckdb.CatalogException as exc:
            names = (read_manifest(self.directory) or {}).get("missing") or {}
            for mart in names:
                if mart in str(exc):
                    raise self._missing(mart) from None
            raise
