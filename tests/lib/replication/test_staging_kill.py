"""kill -9 while a full sync stages its batches (committed in several transactions) or before it
swaps them in: the old tables and state are as they were, the next run drops the staging tables
and gives an exact copy, and the raw history holds each record once."""

from __future__ import annotations

import pytest

from adw_assets.lib.replication import replicate_from_settings
from adw_assets.lib.replication.duckdb_load import STAGING_SUFFIX
from adw_assets.lib.replication.faults import MARKER
from adw_assets.lib.source.simulate import simulate
from adw_assets.settings import get_settings
from tests.lib.replication.fixtures import duplicate_keys, mismatches, query
from tests.lib.replication.test_reliability import _kill, _start, _wait_for

RAW = "airbyte_internal.raw_sales_raw__stream_salesorderdetail"
STATE = "airbyte_internal._adw_state"


def _tables(wh, staging: bool) -> list[tuple[str, str]]:
    return query(
        wh,
        "select schema_name, table_name from duckdb_tables() where (table_name like ?) = ? "
        "and table_name not like '\\_adw%' escape '\\' order by all",
        [f"%{STAGING_SUFFIX}", staging],
    )


def _snapshot(wh, table: str) -> dict:
    """One stream's final table and raw history up to the state's generation (a row count and
    a hash of the rows) and its state row (the other streams of the killed run may have
    committed)."""
    schema, raw = next((s, f"{s}_raw__stream_{t}") for s, t in _tables(wh, False) if t == table)
    gen = f"(select generation_id from {STATE} where name = '{table}')"
    return {
        t: query(wh, f"select count(*), sum(hash(x)) from {t} x where {where}")[0]
        for t, where in (
            (f"{schema}.{table}", "true"),
            (f"airbyte_internal.{raw}", f"_airbyte_generation_id <= {gen}"),
        )
    } | {"state": query(wh, f"select * from {STATE} where name = ?", [table])}


def _orphans(wh, table: str) -> int:
    """Raw records of a generation beyond the stream's state: a killed refresh's."""
    raw = next(f"{s}_raw__stream_{t}" for s, t in _tables(wh, False) if t == table)
    gen = f"(select generation_id from {STATE} where name = '{table}')"
    where = f"_airbyte_generation_id > {gen}"
    return query(wh, f"select count(*) from airbyte_internal.{raw} where {where}")[0][0]


def _kill_at(pause: str, full: bool) -> None:
    proc = _start(pause, full)
    line = _wait_for(proc, MARKER)
    assert pause.split("@")[0] in line
    _kill(proc)


def _exact(source: str, wh) -> None:
    assert mismatches(source, wh) == {}
    assert duplicate_keys(wh) == {}
    assert _tables(wh, staging=True) == []  # the staging tables left by the kill are gone
    # the raw history holds no record of a generation whose sync was never committed, and
    # the newest generation's full sync once
    (gen,) = query(wh, f"select generation_id from {STATE} where name = 'salesorderdetail'")[0]
    assert query(wh, f"select count(*) from {RAW} where _airbyte_generation_id > ?", [gen]) == [
        (0,)
    ]
    once = query(
        wh,
        f"select count(*) from (select _airbyte_data from {RAW} where _airbyte_generation_id "
        "= ? group by all having count(*) > 1)",
        [gen],
    )
    assert once == [(0,)]


@pytest.mark.slow
def test_kill_9_mid_staging_or_before_the_swap_keeps_the_old_table_and_a_rerun_is_exact(
    replica_source, adw_home, monkeypatch
):
    # 300-row batches (the child) committed into staging every 600 rows: several transactions
    monkeypatch.setenv("ADW_REPLICATION_STAGING_ROWS", "600")
    monkeypatch.setenv("ADW_REPLICATION_RAW_HISTORY", "true")  # a refresh's orphans: checked too
    get_settings.cache_clear()
    wh = adw_home / "warehouse.duckdb"

    # the first sync, killed mid staging: no final table, no state for the stream yet
    _kill_at("staging_committed@salesorderdetail", full=False)
    assert ("raw_sales", f"salesorderdetail{STAGING_SUFFIX}") in _tables(wh, staging=True)
    staged = query(wh, f"select count(*) from raw_sales.salesorderdetail{STAGING_SUFFIX}")
    assert staged[0][0] >= 600
    assert ("raw_sales", "salesorderdetail") not in _tables(wh, staging=False)
    assert query(wh, f"select count(*) from {STATE} where name = 'salesorderdetail'") == [(0,)]
    assert replicate_from_settings(get_settings()).ok
    _exact(replica_source, wh)

    trials = [  # (pause point of a full refresh, re-run as a full refresh)
        ("staging_committed@salesorderdetail", False),  # some batches staged and committed
        ("staging_committed@salesorderdetail", True),
        ("before_swap@salesorderdetail", False),  # every batch staged, not swapped in
        ("before_state@salesorderdetail", True),  # swapped in, not committed
        ("before_swap@customer", True),  # a smaller stream, in one staging transaction
    ]
    for n, (pause, rerun_full) in enumerate(trials, start=1):
        simulate(replica_source, orders=15, updates=40, seed=n, progress=lambda m: None)
        table = pause.split("@")[1]
        before = _snapshot(wh, table)
        _kill_at(pause, full=True)
        assert _snapshot(wh, table) == before, f"trial {n} ({pause}): the old tables or state moved"
        if not pause.startswith("before_state"):  # the staged batches were committed
            assert _tables(wh, staging=True), f"trial {n} ({pause})"
            # a refresh appends its raw records to the history as they come (no raw staging
            # table copied at the swap): the next sync deletes them
            assert all(not t.startswith("raw_") for _, t in _tables(wh, staging=True))
            assert _orphans(wh, table) > 0, f"trial {n} ({pause})"
        result = replicate_from_settings(get_settings(), full_refresh=rerun_full)
        assert result.ok, result.failed
        _exact(replica_source, wh)
