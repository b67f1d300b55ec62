"""The serving layer: the ``rpt_*`` marts as Parquet files that the dashboard reads.

DuckDB lets one process write a database file, and while it does no other process can open
the file at all. So the dashboard never opens the warehouse: right after a build,
:func:`export_snapshot` copies every ``rpt_*`` mart to ``$ADW_HOME/serving/<mart>.parquet``
(temp file + rename, so a reader sees the old file or the new one, never half a file), and
:class:`Snapshot` loads those files into an in-memory DuckDB, reloading a file when it changes.
"""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pandas as pd

from adw_assets.errors import AdwError
from adw_assets.lib.semantic import MARTS
from adw_assets.settings import Settings, get_settings

log = logging.getLogger(__name__)

MANIFEST = "_snapshot.json"
"""Written last by each export: when, from which warehouse, which marts and their row counts."""


class SnapshotError(AdwError):
    """The snapshot cannot be exported or read; the message says what to run."""


def serving_dir(settings: Settings | None = None) -> Path:
    """``$ADW_HOME/serving``: where the snapshot lives."""
    return (settings or get_settings()).home / "serving"


def connect_warehouse(duckdb_path: Path, timeout: float = 60.0) -> duckdb.DuckDBPyConnection:
    """Open the warehouse to read, waiting (with backoff) while another process writes it."""
    path = Path(duckdb_path)
    if not path.exists():
        raise SnapshotError(f"no warehouse at {path}: run `adw up` (or `adw build`) first.")
    deadline = time.monotonic() + timeout
    delay = 0.1
    while True:
        try:
            return duckdb.connect(str(path), read_only=True)
        except duckdb.ConnectionException:
            # this process already holds it read-write (e.g. right after an in-process build)
            return duckdb.connect(str(path))
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower() or time.monotonic() + delay > deadline:
                raise SnapshotError(
                    f"cannot read the warehouse {path}: {exc}. Another process (a build or a "
                    "replication) holds it; the snapshot is exported again when it ends, or run "
                    "`adw build` then."
                ) from exc
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


def _find_marts(con: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """``{mart: schema}`` of every ``rpt_*`` relation; the declared schema wins on a clash."""
    rows = con.execute(
        "select table_schema, table_name from information_schema.tables "
        "where table_name like 'rpt\\_%' escape '\\' order by table_schema"
    ).fetchall()
    found: dict[str, str] = {}
    for schema, name in rows:
        declared = MARTS[name].schema if name in MARTS else "marts"
        if name not in found or schema == declared:
            found[name] = schema
    return found


def _atomic_write_json(path: Path, payload: dict) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(json.dumps(payload, indent=2, default=str))
    os.replace(tmp, path)


def export_snapshot(
    duckdb_path: Path | str, serving_dir: Path | str, timeout: float = 60.0
) -> dict:
    """Export every ``rpt_*`` mart of the warehouse to ``<serving_dir>/<mart>.parquet``.

    Each file is written to a temp name then renamed over the old one (atomic on POSIX), and
    files of marts no longer in the warehouse are removed. Returns the manifest:
    ``{"exported_at", "warehouse", "marts": {name: {"schema", "rows", "columns", "file"}}}``.
    """
    out = Path(serving_dir)
    out.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    con = connect_warehouse(Path(duckdb_path), timeout)
    marts: dict[str, dict] = {}
    try:
        for name, schema in sorted(_find_marts(con).items()):
            target = out / f"{name}.parquet"
            tmp = out / f".{name}.{uuid.uuid4().hex}.parquet.tmp"
            relation = f'"{schema}"."{name}"'
            quoted = str(tmp).replace("'", "''")
            try:
                con.execute(f"copy (select * from {relation}) to '{quoted}' (format parquet)")
                os.replace(tmp, target)
            finally:
                tmp.unlink(missing_ok=True)
            rows = con.execute(f"select count(*) from {relation}").fetchone()[0]
            columns = [r[0] for r in con.execute(f"describe {relation}").fetchall()]
            marts[name] = {"schema": schema, "rows": rows, "columns": columns, "file": target.name}
    finally:
        con.close()
    for stale in out.glob("rpt_*.parquet"):
        if stale.stem not in marts:
            stale.unlink(missing_ok=True)
    manifest = {
        "exported_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "warehouse": str(duckdb_path),
        "seconds": round(time.perf_counter() - started, 3),
        "marts": marts,
    }
    _atomic_write_json(out / MANIFEST, manifest)
    log.info("snapshot: %d marts exported to %s", len(marts), out)
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
            present = {p.stem: p for p in self.directory.glob("rpt_*.parquet") if p.name[0] != "."}
            for name in list(self._loaded):
                if name not in present:
                    self._con.execute(f'drop table if exists "{name}"')
                    del self._loaded[name]
            for name, path in present.items():
                self._load(name, path)

    def _load(self, name: str, path: Path, attempts: int = 5) -> None:
        for attempt in range(attempts):
            try:
                st = path.stat()
                stamp = (st.st_ino, st.st_size, st.st_mtime_ns)
                if self._loaded.get(name) == stamp:
                    return
                self._con.execute(
                    f'create or replace table "{name}" as select * from read_parquet(?)',
                    [str(path)],
                )
                self._loaded[name] = stamp
                return
            except (FileNotFoundError, duckdb.IOException, duckdb.InvalidInputException):
                if attempt == attempts - 1:
                    raise
                time.sleep(0.05 * (attempt + 1))

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
        for mart in marts:
            spec = MARTS[mart]
            if mart not in tables:
                raise SnapshotError(
                    f"The mart `{mart}` is not in the dashboard snapshot ({self.directory}): "
                    f"{spec.needed_by}."
                )
            missing = [c for c in spec.columns if c not in tables[mart]]
            if missing:
                raise SnapshotError(
                    f"The mart `{mart}` lacks the column(s) {', '.join(missing)}: "
                    "rebuild it with `adw build`."
                )

    def query(self, sql: str, params: list[object] | None = None) -> pd.DataFrame:
        return self._con.cursor().execute(sql, params or []).df()
