"""Several workers' full syncs at once, each committing its staging tables every few rows: many
DuckDB commits of different cursors of one connection, close together (issue 19; the commits
are serialized by ``duckdb_load.COMMIT_LOCK`` after one segmentation fault of DuckDB 1.5.6
with two commits at once, seen once at scale 10 and not reproduced on demand since)."""

from __future__ import annotations

import pytest

from adw_assets.lib.replication import replicate_from_settings
from adw_assets.lib.replication.duckdb_load import STAGING_SUFFIX
from adw_assets.lib.source.simulate import simulate
from adw_assets.settings import get_settings
from tests.lib.replication.fixtures import duplicate_keys, mismatches, query


@pytest.mark.slow
def test_workers_committing_staging_tables_at_once_give_an_exact_copy(
    replica_source, adw_home, monkeypatch
):
    # 40-row batches committed every 80 rows: hundreds of commits, from four workers at once
    monkeypatch.setenv("ADW_REPLICATION_BATCH_ROWS", "40")
    monkeypatch.setenv("ADW_REPLICATION_STAGING_ROWS", "80")
    monkeypatch.setenv("ADW_REPLICATION_WORKERS", "4")
    monkeypatch.setenv("ADW_REPLICATION_RETRIES", "0")  # a failed commit fails the test
    get_settings.cache_clear()
    wh = adw_home / "warehouse.duckdb"
    for n in range(3):  # the first sync creates the tables; the next ones replace them
        if n:
            simulate(replica_source, orders=10, updates=20, seed=n, progress=lambda m: None)
        result = replicate_from_settings(get_settings(), full_refresh=bool(n))
        assert result.ok, result.failed
        assert mismatches(replica_source, wh) == {}
        assert duplicate_keys(wh) == {}
    staging = f"select count(*) from duckdb_tables() where table_name like '%{STAGING_SUFFIX}'"
    assert query(wh, staging) == [(0,)]
