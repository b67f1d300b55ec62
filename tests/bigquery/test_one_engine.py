"""One engine drives both warehouses: the same source replicated into DuckDB and into BigQuery
(the emulator) gives the same per-stream results and the same states, run after run, and the
engine's rules (nothing new -> nothing committed) hold on both."""

from __future__ import annotations

from dataclasses import asdict, replace
from datetime import date

import pytest

from adw_assets.lib.replication import (
    BigQueryDestination,
    Destination,
    DuckDBDestination,
    ReplicationResult,
    destination_from_settings,
    replicate_from_settings,
)
from adw_assets.lib.source.seed import seed_database
from adw_assets.lib.source.simulate import simulate
from adw_assets.settings import get_settings

pytestmark = pytest.mark.bigquery

STREAMS = ["sales.salesorderheader", "sales.customer", "production.product", "person.address"]


def _run(destination: Destination, **kwargs) -> ReplicationResult:
    result = replicate_from_settings(get_settings(), streams=STREAMS, destination=destination,
                                     raw_history=False, **kwargs)  # fmt: skip
    assert result.ok, result.failed
    return result


def _outcome(result: ReplicationResult) -> list[tuple]:
    """What a run did per stream, without timings."""
    return [
        (s.stream, s.rows_read, s.rows_inserted, s.rows_updated, s.cursor, s.generation,
         s.sync_id, s.full_refresh, s.schema_changes)
        for s in result.streams
    ]  # fmt: skip


def _states(destination: Destination) -> dict:
    with destination.open_run([], workers=1) as run:
        return {k: asdict(replace(s, updated_at=None)) for k, s in run.states.items()}


def test_duckdb_and_bigquery_get_the_same_results_and_states(source_db, bq_warehouse, adw_home):
    seed_database(source_db, scale=0.01, seed=11, today=date(2026, 1, 15), progress=lambda m: 0)
    duck = DuckDBDestination(adw_home / "same.duckdb")
    bigquery = destination_from_settings(get_settings())  # ADW_WAREHOUSE=bigquery
    assert isinstance(bigquery, BigQueryDestination)
    destinations = (duck, bigquery)

    first = [_run(d) for d in destinations]
    assert _outcome(first[0]) == _outcome(first[1])
    assert all(s.full_refresh and s.sync_id == 1 for s in first[0].streams)

    simulate(source_db, orders=12, updates=20, seed=4, progress=lambda m: None)
    second = [_run(d) for d in destinations]
    assert _outcome(second[0]) == _outcome(second[1])
    header = second[0]["salesorderheader"]
    assert header.rows_inserted == 12 and not header.full_refresh and header.sync_id == 2
    assert _states(duck) == _states(bigquery)

    # nothing new: the lag window is read again, nothing is committed on either warehouse
    before = _states(duck)
    third = [_run(d) for d in destinations]
    assert _outcome(third[0]) == _outcome(third[1])
    assert all(s.rows_read > 0 and s.rows_inserted + s.rows_updated == 0 for s in third[1].streams)
    assert _states(duck) == _states(bigquery) == before

    refresh = [_run(d, full_refresh=["customer"]) for d in destinations]
    assert _outcome(refresh[0]) == _outcome(refresh[1])
    assert refresh[1]["customer"].generation == 1 and refresh[1]["customer"].full_refresh
    assert _states(duck) == _states(bigquery)
