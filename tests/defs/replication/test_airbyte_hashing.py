"""Airbyte's hashing mapper on the Airbyte path (the API stand-in): the connection's mappers
reach the spec cache (settings only, no secret), the asset's column metadata names the hashed
column as Airbyte lands it, and a code location whose ADW_REPLICATION_MAPPINGS differs from the
connection refuses to load."""

from __future__ import annotations

import json

import dagster as dg
import duckdb
import pytest

from adw_assets.errors import ConfigError
from adw_assets.lib.airbyte.cache import make_snapshot, trim_connection, write_snapshot
from adw_assets.lib.mappings import load
from adw_assets.settings import get_settings
from tests.security.test_hashing_mapping import CARD_MAPPING
from tests.support.airbyte_api import AirbyteStandIn
from tests.support.sample_rows import insert_sample_rows

CARDS = dg.AssetKey(["raw_sales", "creditcard"])


@pytest.fixture
def airbyte(source_db, adw_home, monkeypatch):
    """The stand-in with the card-number mapper on its connection; ADW_* point at it."""
    insert_sample_rows(source_db)
    settings = get_settings()
    mappings = load(json.dumps(CARD_MAPPING))
    with AirbyteStandIn(settings.replication_dsn, settings.duckdb_path, mappings=mappings) as ab:
        for name, value in ab.env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("ADW_REPLICATION_MAPPINGS", json.dumps(CARD_MAPPING))
        specs = adw_home / "airbyte_specs.json"  # what `adw airbyte refresh-specs` writes
        write_snapshot(specs, make_snapshot(ab.connection, ab.destination, refreshed_from="test"))
        monkeypatch.setenv("ADW_AIRBYTE_SPECS", str(specs))
        get_settings.cache_clear()
        yield ab
    get_settings.cache_clear()


def test_the_spec_cache_keeps_hashing_mappers_and_never_an_encryption_key():
    connection = {"syncCatalog": {"streams": [{"stream": {"name": "creditcard"}, "config": {
        "mappers": [
            {"type": "hashing", "id": "x", "mapperConfiguration": {
                "targetField": "cardnumber", "method": "SHA-256", "fieldNameSuffix": "_hashed"}},
            {"type": "encryption", "mapperConfiguration": {
                "algorithm": "AES", "targetField": "cardtype", "key": "s3cret-key"}},
        ]}}]}}  # fmt: skip
    trimmed = trim_connection(connection)
    assert "s3cret-key" not in json.dumps(trimmed)
    assert trimmed["syncCatalog"]["streams"][0]["config"]["mappers"] == [
        {"type": "hashing", "mapperConfiguration": CARD_MAPPING["streams"][0]["mappers"][0][
            "mapperConfiguration"]},
        {"type": "encryption"},
    ]  # fmt: skip


def test_airbyte_lands_the_hashed_column_and_the_metadata_says_so(airbyte):
    from tests.support.dagster import definitions

    job = (
        definitions()
        .resolve_implicit_global_asset_job_def()
        .get_subset(asset_selection={CARDS}, asset_check_selection=set())
    )
    result = job.execute_in_process(instance=dg.DagsterInstance.ephemeral())
    assert result.success
    (event,) = [e for e in result.get_asset_materialization_events() if e.asset_key == CARDS]
    schema = event.materialization.metadata["dagster/column_schema"].schema
    columns = {c.name: c.type for c in schema.columns}
    assert "cardnumber" not in columns and columns["cardnumber_hashed"] == "string"
    with duckdb.connect(str(get_settings().duckdb_path), read_only=True) as db:
        landed = {
            r[0]
            for r in db.execute(
                "select column_name from information_schema.columns "
                "where table_schema = 'raw_sales' and table_name = 'creditcard'"
            ).fetchall()
        }
    assert set(columns) <= landed and "cardnumber" not in landed  # metadata == warehouse


def test_a_setting_that_differs_from_the_connection_refuses_to_load(airbyte, monkeypatch):
    from adw_assets.defs.replication.airbyte import airbyte_replicator

    other = json.loads(json.dumps(CARD_MAPPING))
    other["streams"][0]["mappers"][0]["mapperConfiguration"]["method"] = "SHA-512"
    monkeypatch.setenv("ADW_REPLICATION_MAPPINGS", json.dumps(other))
    get_settings.cache_clear()
    with pytest.raises(ConfigError, match=r"hashing mappers differ on sales\.creditcard\.cardnum"):
        airbyte_replicator(get_settings())
