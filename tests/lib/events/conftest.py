"""Helpers for the event tests: read the landing zone back with DuckDB (never the warehouse)."""

from __future__ import annotations

import duckdb
import pytest

from adw_assets.lib.events.config import EventsConfig, events_config


def landed(cfg: EventsConfig, columns: str = "event_id") -> list[tuple]:
    """Rows of the landing zone (every delivered copy: no deduplication)."""
    if not list(cfg.landing_dir.glob("*/*.parquet")):
        return []
    with duckdb.connect() as con:
        return con.execute(
            f"select {columns} from read_parquet(?, hive_partitioning = true)",
            [cfg.landing_glob],
        ).fetchall()


@pytest.fixture
def cfg(adw_home) -> EventsConfig:
    return events_config()
