"""The replicated tables as Dagster assets (the embedded replicator), materialized from the
code location against real PostgreSQL + DuckDB."""

from __future__ import annotations

import dagster as dg

from adw_assets.defs.replication.resources import EmbeddedReplicator
from adw_assets.lib.source.catalog import TABLES
from tests.lib.replication.fixtures import execute, mismatches, query
from tests.support import dagster as support

KEYS = {dg.AssetKey([f"raw_{t.schema}", t.name]): t for t in TABLES}


def materialize(selection=None, tags=None) -> dg.ExecuteInProcessResult:
    return support.materialize(
        selection or list(KEYS), tags=tags, resources={"replicator": EmbeddedReplicator(retries=0)}
    )


def metadata(result) -> dict[dg.AssetKey, dict]:
    return {
        e.asset_key: {k: v.value for k, v in e.materialization.metadata.items()}
        for e in result.get_asset_materialization_events()
    }


def test_materializing_every_stream_passes_every_check(replica_source, adw_home):
    result = materialize()
    assert result.success
    meta = metadata(result)
    assert set(meta) == set(KEYS)
    header = meta[dg.AssetKey(["raw_sales", "salesorderheader"])]
    assert header["rows_inserted"] == header["rows_read"] > 0
    assert header["generation"] == 0 and header["full_refresh"] is True
    assert header["cursor"].startswith("20") and header["duration_seconds"] > 0
    checks = result.get_asset_check_evaluations()
    assert len(checks) == 24 and all(c.passed for c in checks)
    assert mismatches(replica_source, adw_home / "warehouse.duckdb") == {}


def test_a_subset_run_syncs_only_the_selected_streams(replica_source, adw_home):
    key = dg.AssetKey(["raw_sales", "customer"])
    result = materialize(selection=[key])
    assert result.success and set(metadata(result)) == {key}
    wh = adw_home / "warehouse.duckdb"
    assert query(wh, "select stream from airbyte_internal._adw_state") == [("sales.customer",)]
    tables = query(
        wh, "select table_name from information_schema.tables where table_schema like 'raw_%'"
    )
    assert tables == [("customer",)]
    assert {c.check_name for c in result.get_asset_check_evaluations()} == {
        "customer_matches_source_row_count",
        "customer_primary_key_is_unique_and_not_null",
    }


def test_the_full_refresh_tag_rebuilds_with_a_new_generation(replica_source, adw_home):
    key = dg.AssetKey(["raw_sales", "store"])
    materialize(selection=[key])
    again = metadata(materialize(selection=[key]))[key]
    assert again["full_refresh"] is False and again["generation"] == 0
    rebuilt = metadata(materialize(selection=[key], tags={"adw/full_refresh": "true"}))[key]
    assert rebuilt["full_refresh"] is True and rebuilt["generation"] == 1


def test_a_failed_stream_fails_the_run_and_the_others_still_materialize(replica_source, adw_home):
    card, store = dg.AssetKey(["raw_sales", "creditcard"]), dg.AssetKey(["raw_sales", "store"])
    materialize(selection=[card, store])
    execute(
        replica_source,
        "alter table sales.creditcard alter column expyear type varchar(4)",
    )
    result = materialize(selection=[card, store])
    assert not result.success
    assert set(metadata(result)) == {store}
    (failure,) = result.get_step_failure_events()
    text = failure.step_failure_data.user_failure_data.description
    assert "sales.creditcard" in text and "expyear" in text and "SMALLINT" in text
