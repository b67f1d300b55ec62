"""Change data capture (``ADW_REPLICATION_METHOD=cdc``): snapshot, changes and deletes from the
write-ahead log, exactly once across restarts, against a real PostgreSQL and DuckDB."""

from __future__ import annotations

import pytest

from adw_assets.lib.replication import DuckDBDestination, cdc_slot, replicate
from adw_assets.lib.source.server import dsn_with_user
from adw_assets.lib.source.simulate import simulate
from adw_assets.settings import CDC_ROLE
from tests.lib.replication.fixtures import duplicate_keys, execute, mismatches, query


def cdc_dsn(owner: str) -> str:
    return dsn_with_user(owner, CDC_ROLE)


@pytest.fixture
def cdc_source(replica_source) -> str:
    cdc_slot.setup(replica_source, superuser_role=True, connection_limit=8)
    yield replica_source
    cdc_slot.teardown(replica_source)


def sync(owner: str, path, **kw):
    result = replicate(cdc_dsn(owner), DuckDBDestination(path), method="cdc", retries=0, **kw)
    result.raise_for_failures()
    return result


def test_snapshot_then_changes_and_deletes_equal_the_source(cdc_source, tmp_path):
    path = tmp_path / "w.duckdb"
    first = sync(cdc_source, path)
    assert first["salesorderheader"].full_refresh
    assert mismatches(cdc_source, path) == {}
    done = simulate(cdc_source, orders=20, updates=40, deletes=12, seed=3, progress=lambda _m: None)
    assert done["orders_deleted"] == 4 and done["creditcards_deleted"] == 4
    assert done["order_lines_deleted"] >= 8
    execute(cdc_source, "delete from sales.salesorderdetail where salesorderdetailid = "
            "(select min(salesorderdetailid) from sales.salesorderdetail)")  # fmt: skip
    second = sync(cdc_source, path)
    assert not second["salesorderheader"].full_refresh
    assert mismatches(cdc_source, path) == {}
    assert duplicate_keys(path) == {}
    # the deleted records: gone from the final tables, kept in the raw history
    raw = "airbyte_internal.raw_sales_raw__stream_salesorderdetail"
    held = query(path, f"select count(*) from {raw} "
                       "where _airbyte_data._ab_cdc_deleted_at is not null")[0][0]  # fmt: skip
    assert held >= 1
    assert query(path, "select count(*) from raw_sales.salesorderdetail "
                       "where _ab_cdc_deleted_at is not null")[0][0] == 0  # fmt: skip
    # nothing new: nothing read, the slot at the WAL position of the run
    third = sync(cdc_source, path)
    assert third.rows_read == 0
    assert mismatches(cdc_source, path) == {}
