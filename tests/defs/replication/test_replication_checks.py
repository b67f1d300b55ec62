"""The replication checks: reconciliation with the source and primary keys, on both backends."""

from __future__ import annotations

import dagster as dg

from adw_assets.lib.replication import replicate_from_settings
from adw_assets.settings import get_settings
from tests.lib.replication.fixtures import execute
from tests.support.dagster import definitions, materialize

STORE = dg.AssetKey(["raw_sales", "store"])


def run_checks(key: dg.AssetKey) -> dict[str, dg.AssetCheckEvaluation]:
    result = materialize(checks_of=[key])
    return {e.check_name: e for e in result.get_asset_check_evaluations()}


def test_row_count_warns_on_hard_deletes_and_errors_on_missing_rows(replica_source):
    execute(
        replica_source,
        "insert into sales.store (businessentityid, name) "
        "select max(businessentityid) + 1000, 'Closing Soon Bikes' from sales.store",
    )
    replicate_from_settings(get_settings(), streams=["store"])
    assert all(e.passed for e in run_checks(STORE).values())

    execute(replica_source, "delete from sales.store where name = 'Closing Soon Bikes'")
    deleted = run_checks(STORE)["store_matches_source_row_count"]
    assert not deleted.passed and deleted.severity == dg.AssetCheckSeverity.WARN
    assert deleted.metadata["difference"].value == 1
    assert "hard deletes" in deleted.metadata["explanation"].value

    execute(
        replica_source,
        "insert into sales.store (businessentityid, name) select max(businessentityid) + g, "
        "'New Bikes ' || g from sales.store, generate_series(1, 3) g group by g",
    )
    missing = run_checks(STORE)["store_matches_source_row_count"]
    assert not missing.passed and missing.severity == dg.AssetCheckSeverity.ERROR
    assert missing.metadata["difference"].value == -2


def test_primary_key_check_catches_duplicates_and_nulls(replica_source, adw_home):
    replicate_from_settings(get_settings(), streams=["store"])
    import duckdb

    with duckdb.connect(str(adw_home / "warehouse.duckdb")) as con:
        con.execute("insert into raw_sales.store select * from raw_sales.store limit 2")
    check = run_checks(STORE)["store_primary_key_is_unique_and_not_null"]
    assert not check.passed and check.metadata["duplicate_keys"].value == 2


def test_checks_of_a_table_never_replicated_fail_and_say_so(replica_source, adw_home):
    replicate_from_settings(get_settings(), streams=["customer"])
    check = run_checks(STORE)["store_matches_source_row_count"]
    assert not check.passed and check.metadata["reason"].value == "not replicated yet"


def test_the_checks_attach_to_the_airbyte_backend_too(source_db, adw_home, monkeypatch):
    from tests.support.airbyte_api import AirbyteStandIn
    from tests.support.sample_rows import insert_sample_rows

    insert_sample_rows(source_db)
    settings = get_settings()
    with AirbyteStandIn(settings.replication_dsn, settings.duckdb_path) as stand_in:
        for name, value in stand_in.env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("ADW_REPLICATION", "airbyte")
        defs = definitions()
        specs = [s for s in defs.resolve_all_asset_specs() if s.group_name == "replication"]
        assert len(specs) == 12 and all(s.freshness_policy is not None for s in specs)
        result = materialize([s.key for s in specs], defs=defs)
    assert result.success
    checks = result.get_asset_check_evaluations()
    assert len(checks) == 24 and all(c.passed for c in checks), [
        (c.check_name, c.metadata) for c in checks if not c.passed
    ]
