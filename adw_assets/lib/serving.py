"""The serving layer: the marts the dashboard reads, as Parquet files.

DuckDB lets one process write a database file, and while it does no other process can open
the file at all; BigQuery bills every query. So the dashboard never opens the warehouse: right
after a build, the ``dashboard/snapshot`` asset calls :func:`export_snapshot`, which copies
the marts of the dbt exposure ``dashboard`` (:func:`dashboard_marts`) to
``$ADW_HOME/serving/<mart>.parquet`` (temp file + rename, so a reader sees the old file or the
new one, never half a file), and :class:`Snapshot` loads those files into an in-memory DuckDB,
reloading a file when it changes.
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


def _atomic_write_json(path: Path, payload: dict) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=str))
    os.replace(tmp, path)


def export_snapshot(wh: Warehouse, marts: Sequence[Mart], serving_dir: Path | str) -> dict:
    """Export each of ``marts`` from the warehouse to ``<serving_dir>/<mart>.parquet``.

    Each file is written to a temp name then renamed over the old one (atomic on POSIX); a
    mart not built yet is listed under ``missing``, and files of marts no longer declared are
    removed. Returns the manifest, written last: ``{"exported_at", "warehouse", "seconds",
    "marts": {name: {"dataset", "rows", "columns", "declared", "hint", "file"}}, "missing":
    {name: hint}}``.
    """
    out = Path(serving_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    exported: dict[str, dict] = {}
    missing: dict[str, str] = {}
    for mart in marts:
        if not wh.exists(mart.dataset, mart.name):
            missing[mart.name] = mart.hint
            continue
        target = out / f"{mart.name}.parquet"
        rows, columns = wh.export_parquet(mart.dataset, mart.name, target)
        exported[mart.name] = {
            "dataset": mart.dataset, "rows": rows, "columns": columns,
            "declared": list(mart.columns), "hint": mart.hint, "file": target.name,
        }  # fmt: skip
    for stale in out.glob("*.parquet"):
        if stale.stem not in exported:
            stale.unlink(missing_ok=True)
    manifest = {
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "warehouse": wh.name,
        "seconds": round(time.perf_counter() - started, 3),
        "marts": exported,
        "missing": missing,
    }
    _atomic_write_json(out / MANIFEST, manifest)
    log.info("snapshot: %d marts exported to %s", len(exported), out)
    return manifest


def read_manifest(directory: Path | str) -> dict | None:
    """The manifest of the last export, or ``None`` when nothing was exported yet."""
    try:
        return json.loads((Path(directory) / MANIFEST).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


class Snapshot:
    """The serving Parquet files in an in-memory DuckDB, one table per mart.

    Thread-safe: :meth:`refresh` (under a lock) reloads the files whose inode, size or mtime
    changed; :meth:`query` runs on a cursor of its own. A file replaced while it is read is
    simply read again.
    """

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        self._con = duckdb.connect(":memory:")
        self._lock = threading.Lock()
        self._loaded: dict[str, tuple[int, int, int]] = {}

    def refresh(self) -> None:
        with self._lock:
            present = {p.stem: p for p in self.directory.glob("*.parquet") if p.name[0] != "."}
            for name in list(self._loaded):
                if name not in present:
                    self._con.execute(f"drop table if exists {quote(name)}")
                    del self._loaded[name]
            for name, path in present.items():
                self._load(name, path)

    def _load(self, name: str, path: Path) -> None:
        """Load one file unless loaded as it is; a file renamed over while read is read again."""
        replaced = (FileNotFoundError, duckdb.IOException, duckdb.InvalidInputException)
        retrying(replaced, first_wait=0.05, attempts=5)(self._load_once, name, path)

    def _load_once(self, name: str, path: Path) -> None:
        st = path.stat()
        stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
        if self._loaded.get(name) == stamp:
            return
        self._con.execute(
            f"create or replace table {quote(name)} as select * from read_parquet(?)",
            [str(path)],
        )
        self._loaded[name] = stamp

    def tables(self) -> dict[str, list[str]]:
        """``{mart: [columns]}`` currently loaded."""
        rows = self._con.cursor().execute(
            "select table_name, list(column_name order by ordinal_position) "
            "from information_schema.columns where table_schema = 'main' group by 1"
        )
        return dict(rows.fetchall())

    def require(self, *marts: str) -> None:
        """Raise :class:`SnapshotError` naming what to run if a mart or column is missing."""
        tables = self.tables()
        manifest = read_manifest(self.directory) or {}
        for mart in marts:
            exported = (manifest.get("marts") or {}).get(mart, {})
            if mart not in tables:
                hint = (manifest.get("missing") or {}).get(mart) or exported.get("hint") or _BUILD
                raise SnapshotError(
                    f"The mart `{mart}` is not in the dashboard snapshot ({self.directory}): "
                    f"{hint}."
                )
            missing = [c for c in exported.get("declared", ()) if c not in tables[mart]]
            if missing:
                raise SnapshotError(
                    f"The mart `{mart}` lacks the column(s) {', '.join(missing)}: "
                    "rebuild it with `adw build`."
                )

    def query(self, sql: str, params: list[object] | None = None) -> pd.DataFrame:
        return self._con.cursor().execute(sql, params or []).df()
