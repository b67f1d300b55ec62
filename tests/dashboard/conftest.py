"""Fixtures of the dashboard tests: a warehouse built by the real chain (seeded PostgreSQL ->
replicator -> DuckDB -> dbt build, web events landed), its snapshot, landing files."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from adw_assets.lib.events import burst
from adw_assets.lib.source.seed import seed_database
from adw_assets.settings import get_settings
from tests.dbt.dbt_chain import Chain, module_database, quiet, settings_for

SCALE = 0.02


def build_warehouse(pg_cluster: str, home: Path, seed: int = 7) -> Path:
    """A warehouse built as adw builds it, on synthetic AdventureWorks at ``SCALE``, with
    1,500 web events landed: ``home/warehouse.duckdb``."""
    with module_database(pg_cluster) as dsn, pytest.MonkeyPatch.context() as mp:
        seed_database(dsn, scale=SCALE, seed=seed, progress=quiet)
        mp.setenv("ADW_HOME", str(home))
        get_settings.cache_clear()
        chain = Chain(dsn, settings_for(home), home / "target")
        burst(n_events=1500, seed=seed)
        chain.replicate()
        chain.dbt("build")
    get_settings.cache_clear()
    return chain.duckdb_path


@pytest.fixture(scope="session")
def built_warehouse(pg_cluster, tmp_path_factory) -> Path:
    return build_warehouse(pg_cluster, tmp_path_factory.mktemp("dashboard-built"))


@pytest.fixture
def warehouse(adw_home, built_warehouse) -> Path:
    """``$ADW_HOME/warehouse.duckdb``: a copy of the session's built warehouse."""
    adw_home.mkdir(parents=True, exist_ok=True)
    path = adw_home / "warehouse.duckdb"
    shutil.copy(built_warehouse, path)
    return path


EVENT_SCHEMA = pa.schema(
    [
        ("event_id", pa.string()),
        ("timestamp", pa.timestamp("us", tz="UTC")),
        ("session_id", pa.string()),
        ("country", pa.string()),
        ("device_type", pa.string()),
        ("order_value", pa.float64()),
    ]
)


def write_events(
    landing: Path,
    n: int,
    at: datetime | None = None,
    ids: list[str] | None = None,
    name: str | None = None,
    order_every: int = 10,
) -> Path:
    """A landing-zone batch file of ``n`` events (temp file + rename, like the streamer)."""
    at = at or datetime.now(UTC)
    ids = ids or [str(uuid.uuid4()) for _ in range(n)]
    part = landing / f"event_date={at:%Y-%m-%d}"
    part.mkdir(parents=True, exist_ok=True)
    table = pa.table(
        {
            "event_id": ids,
            "timestamp": [at - timedelta(seconds=i % 30) for i in range(len(ids))],
            "session_id": [f"s{i // 3}" for i in range(len(ids))],
            "country": ["France" if i % 2 else "Canada" for i in range(len(ids))],
            "device_type": ["mobile"] * len(ids),
            "order_value": [12.5 if i % order_every == 0 else 0.0 for i in range(len(ids))],
        },
        schema=EVENT_SCHEMA,
    )
    final = part / (name or f"part-test-{uuid.uuid4().hex}.parquet")
    tmp = part / f".{final.name}.tmp"
    pq.write_table(table, tmp)
    tmp.replace(final)
    return final


_HOLDER = """
import sys, time, duckdb
con = duckdb.connect(sys.argv[1])
con.execute("create table if not exists _lock_holder (held_at timestamp)")
con.execute("insert into _lock_holder values (now())")
print("ready", flush=True)
time.sleep(float(sys.argv[2]))
"""


def hold_warehouse(path: Path, seconds: float) -> subprocess.Popen:
    """A process that opens the warehouse read-write (as a long build does) and sleeps."""
    proc = subprocess.Popen(
        [sys.executable, "-c", _HOLDER, str(path), str(seconds)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline().strip() == "ready"
    return proc


def export(warehouse: Path, out: Path, timeout: float = 60.0) -> dict:
    """Export the snapshot as the dashboard/snapshot asset does: the marts of the dbt exposure
    ``dashboard``, read through the warehouse interface."""
    from adw_assets.lib.dbt import ensure_manifest
    from adw_assets.lib.serving import dashboard_marts, export_snapshot
    from adw_assets.lib.warehouse.interface import DuckDBWarehouse

    manifest = ensure_manifest()
    marts = dashboard_marts(json.loads(manifest.read_text()))
    with DuckDBWarehouse(warehouse, timeout=timeout) as wh:
        return export_snapshot(wh, marts, out, manifest.parent / "semantic_manifest.json")
