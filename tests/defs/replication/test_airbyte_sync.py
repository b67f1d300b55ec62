"""Airbyte assets end to end against the Airbyte API stand-in: a real HTTP server speaking
Airbyte's API, real PostgreSQL source, real DuckDB warehouse, real Dagster runs."""

from __future__ import annotations

import socket

import dagster as dg
import duckdb
import pytest
import requests

from adw_assets.lib.source.catalog import TABLES
from adw_assets.settings import get_settings
from tests.support.airbyte_api import AirbyteStandIn, JobOutcome
from tests.support.sample_rows import insert_sample_rows


@pytest.fixture
def airbyte(source_db, adw_home, monkeypatch):
    """The stand-in, syncing the source into $ADW_HOME/warehouse.duckdb; ADW_* point at it."""
    counts = insert_sample_rows(source_db)
    settings = get_settings()
    with AirbyteStandIn(settings.replication_dsn, settings.duckdb_path) as stand_in:
        stand_in.source_counts = counts
        for name, value in stand_in.env().items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        yield stand_in
    get_settings.cache_clear()


REPLICATED = [dg.AssetKey([f"raw_{t.schema}", t.name]) for t in TABLES]


def _materialize(selection=None) -> dg.ExecuteInProcessResult:
    """The replicated tables (without their checks), from the code location with Airbyte."""
    from tests.support.dagster import definitions

    defs = definitions()
    job = defs.resolve_implicit_global_asset_job_def().get_subset(
        asset_selection=set(selection or REPLICATED), asset_check_selection=set()
    )
    return job.execute_in_process(instance=dg.DagsterInstance.ephemeral(), raise_on_error=False)


def _all_materializations(result: dg.ExecuteInProcessResult) -> dict[dg.AssetKey, dict]:
    return {
        e.asset_key: e.step_materialization_data.materialization.metadata
        for e in result.all_events
        if e.event_type_value == "ASSET_MATERIALIZATION"
    }


def test_successful_sync_materializes_every_stream_with_its_rows(airbyte):
    result = _materialize()

    assert result.success
    materialized = _all_materializations(result)
    expected = {dg.AssetKey([f"raw_{t.schema}", t.name]) for t in TABLES}
    assert set(materialized) == expected
    orders = materialized[dg.AssetKey(["raw_sales", "salesorderdetail"])]
    assert orders["rows_read"].value == airbyte.source_counts["sales.salesorderdetail"] == 2
    assert orders["cursor"].value.startswith("2011-05-31")
    assert orders["airbyte_job_id"].value == 1
    assert orders["dagster/table_name"].value == "raw_sales.salesorderdetail"
    assert materialized[dg.AssetKey(["raw_sales", "store"])]["rows_read"].value == 0
    with duckdb.connect(str(get_settings().duckdb_path), read_only=True) as db:
        for t in TABLES:
            n = db.execute(f"select count(*) from raw_{t.schema}.{t.name}").fetchone()[0]
            assert n == airbyte.source_counts[t.qualified], t.qualified
        namibia = db.execute(
            "select name, _airbyte_meta ->> 'sync_id', _airbyte_generation_id"
            " from raw_person.countryregion where countryregioncode = 'NA'"
        ).fetchone()
        assert namibia == ("Namibia", "1", 0)
        (price,) = db.execute("select listprice from raw_production.product").fetchone()
        assert str(price) == "3399.9900"


def test_a_second_sync_moves_only_changed_rows_and_keeps_one_row_per_key(airbyte, source_db):
    assert _materialize().success
    import psycopg

    with psycopg.connect(source_db) as conn:
        conn.execute(
            "update sales.salesorderdetail set orderqty = 5, modifieddate = '2011-06-01'"
            " where salesorderdetailid = 2"
        )
    result = _materialize()

    assert result.success
    detail = _all_materializations(result)[dg.AssetKey(["raw_sales", "salesorderdetail"])]
    # the changed row, plus the one at the saved cursor: read with >=, as Airbyte does
    assert detail["rows_read"].value == 2
    assert detail["cursor"].value.startswith("2011-06-01")
    with duckdb.connect(str(get_settings().duckdb_path), read_only=True) as db:
        rows = db.execute(
            "select salesorderdetailid, orderqty from raw_sales.salesorderdetail order by 1"
        ).fetchall()
        raw_tables = db.execute(
            "select count(*) from duckdb_tables() where schema_name = 'airbyte_internal' "
            "and table_name like '%raw__stream%'"
        ).fetchone()[0]
    assert rows == [(1, 1), (2, 5)]
    # the stand-in moves data with the embedded engine's defaults: the final tables only, as
    # Airbyte's direct-load destinations land them (the raw history: tests/lib/replication)
    assert raw_tables == 0


def test_selecting_one_stream_still_records_every_stream_airbyte_synced(airbyte):
    key = dg.AssetKey(["raw_sales", "salesorderheader"])
    result = _materialize(selection=[key])

    assert result.success
    planned = {e.asset_key for e in result.get_asset_materialization_events()}
    assert key in planned
    assert len(_all_materializations(result)) == 12  # Airbyte syncs the whole connection


def test_failed_job_fails_the_run_with_airbytes_error(airbyte):
    message = 'FATAL: password authentication failed for user "adw_replicator"'
    airbyte.outcomes.append(JobOutcome(status="failed", message=message))

    result = _materialize()

    assert not result.success
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_FAILURE")
    text = failure.step_failure_data.error.message
    assert message in text
    assert "Airbyte job 1" in text and "source config_error" in text
    assert not _all_materializations(result)
    assert airbyte.jobs[1].status == "failed"


def test_wrong_client_secret_is_refused_and_starts_no_job(airbyte, monkeypatch):
    monkeypatch.setenv("ADW_AIRBYTE_CLIENT_SECRET", "not-the-secret")
    get_settings.cache_clear()

    result = _materialize()

    assert not result.success
    assert ("POST", "/api/public/v1/applications/token", 401) in airbyte.requests
    assert not airbyte.jobs
    text = next(
        e for e in result.all_events if e.event_type_value == "STEP_FAILURE"
    ).step_failure_data.error.message
    assert "Airbyte did not answer" in text and "ADW_AIRBYTE_CLIENT_SECRET" in text


def test_the_stand_in_rejects_requests_without_a_valid_bearer_token(airbyte):
    url = f"{airbyte.url}/api/public/v1/workspaces/{airbyte.workspace_id}"
    assert requests.get(url, timeout=5).status_code == 401
    bad = requests.get(url, headers={"Authorization": "Bearer forged"}, timeout=5)
    assert bad.status_code == 401 and bad.json()["title"] == "unauthorized"
    token = requests.post(
        f"{airbyte.url}/api/public/v1/applications/token",
        json={"client_id": airbyte.client_id, "client_secret": airbyte.client_secret},
        timeout=5,
    ).json()["access_token"]
    ok = requests.get(url, headers={"Authorization": f"Bearer {token}"}, timeout=5)
    assert ok.status_code == 200 and ok.json()["workspaceId"] == airbyte.workspace_id


def test_unreachable_airbyte_fails_the_run_with_what_to_check(airbyte, monkeypatch):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed_port = s.getsockname()[1]
    monkeypatch.setenv("ADW_AIRBYTE_URL", f"http://127.0.0.1:{closed_port}")
    get_settings.cache_clear()

    result = _materialize()

    assert not result.success
    text = next(
        e for e in result.all_events if e.event_type_value == "STEP_FAILURE"
    ).step_failure_data.error.message
    assert f"127.0.0.1:{closed_port}" in text and "Check that Airbyte runs" in text


def test_the_replication_domain_with_airbyte_passes_the_shared_checks(airbyte):
    """ADW_REPLICATION=airbyte: the domain's own checks (row counts against the source,
    primary keys) run on what the Airbyte sync wrote, and pass."""
    from tests.support.dagster import materialize

    result = materialize(REPLICATED)

    assert result.success
    checks = result.get_asset_check_evaluations()
    assert len(checks) == 24
    assert all(c.passed for c in checks), [c.check_name for c in checks if not c.passed]
