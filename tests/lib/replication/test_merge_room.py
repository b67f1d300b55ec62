"""An incremental merge spread over a large table gets room beyond ADW_REPLICATION_MEMORY_LIMIT.

DuckDB 2.0 holds memory for every row group a DELETE touches, from the statement to the run's
closing checkpoint. Updates of old rows land in every row group of a large table, so the memory
the merge needs follows the table's size, not the limit a user set for a small one (issue 19:
scale 100's incremental sync failed with the default 128MB). Scale 10 against a 32MB limit
shows the same on a smaller table.
"""

from __future__ import annotations

import shutil
from datetime import date

import psycopg
import pytest

from adw_assets.lib.replication import DuckDBDestination, replicate
from adw_assets.lib.replication.duckdb_load import DuckDBStreamLoad
from adw_assets.lib.source.seed import seed_database
from tests.dbt.dbt_chain import module_database, quiet
from tests.lib.replication.fixtures import duplicate_keys, mismatches, replication_dsn

pytestmark = pytest.mark.slow
LIMIT = "32MB"


@pytest.fixture(scope="module")
def scale10(pg_cluster):
    with module_database(pg_cluster) as dsn:
        seed_database(dsn, scale=10, seed=1, today=date(2026, 1, 15), progress=quiet)
        yield dsn


def test_a_merge_over_every_row_group_of_a_large_table_gets_room_beyond_the_limit(
    scale10, adw_home, monkeypatch
):
    wh = adw_home / "warehouse.duckdb"
    dsn = replication_dsn(scale10)
    assert replicate(dsn, DuckDBDestination(wh)).ok
    with psycopg.connect(scale10, autocommit=True) as conn:  # 1 order line in 240: ~5,000
        conn.execute(
            "update sales.salesorderdetail set modifieddate = now() "
            "where salesorderdetailid % 240 = 0"
        )
    control = adw_home / "control.duckdb"
    shutil.copy(wh, control)

    # without the room, the same sync runs out of memory: in the order lines' merge, or in
    # the streams after it, since its deletes hold their memory after its commit
    with monkeypatch.context() as m:
        m.setattr(DuckDBStreamLoad, "make_room", lambda self, deletes: None)
        refused = replicate(dsn, DuckDBDestination(control, memory_limit=LIMIT))
    # each on one line naming the setting, also when DuckDB ran out in the commit (it then
    # reports a failed transaction, in a few runs out of ten)
    errors = [s.error for s in refused.failed]
    assert errors, "the sync passed without the room"
    # also the streams after one whose rollback DuckDB refused (out of memory too): its aborted
    # transaction once reached the next stream on the same cursor, 3 runs in 20
    for e in errors:
        assert "Out of Memory" in e and "ADW_REPLICATION_MEMORY_LIMIT" in e and "\n" not in e, e
    # nothing of the refused run was kept: the file syncs with the room and equals the source
    assert replicate(dsn, DuckDBDestination(control, memory_limit=LIMIT)).ok
    assert mismatches(scale10, control) == {} and duplicate_keys(control) == {}

    result = replicate(dsn, DuckDBDestination(wh, memory_limit=LIMIT))
    assert result.ok, result.failed
    assert result["sales.salesorderdetail"].rows_updated >= 4_900
    assert mismatches(scale10, wh) == {} and duplicate_keys(wh) == {}
