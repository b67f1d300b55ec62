"""From the cached connection to tables and keys, and what adw refuses or warns about."""

from __future__ import annotations

import copy
import json

import pytest

from adw_assets.errors import ConfigError
from adw_assets.lib.airbyte.cache import read_snapshot, trim_destination, write_snapshot
from adw_assets.lib.airbyte.config import packaged_specs_path
from adw_assets.lib.airbyte.translation import (
    check_snapshot,
    destination_namespace,
    selected_tables,
)
from adw_assets.lib.source.catalog import TABLES


@pytest.fixture
def snapshot() -> dict:
    return copy.deepcopy(read_snapshot(packaged_specs_path()))


def _stream(snapshot: dict, name: str) -> dict:
    return next(
        s for s in snapshot["connection"]["syncCatalog"]["streams"] if s["stream"]["name"] == name
    )


def test_shipped_cache_describes_the_12_tables_as_adw_replicates_them(snapshot):
    tables = selected_tables(snapshot)

    assert [(t.namespace, t.stream) for t in tables] == [
        (f"raw_{t.schema}", t.name) for t in TABLES
    ]
    assert [t.source_namespace for t in tables] == [t.schema for t in TABLES]
    assert [t.primary_key for t in tables] == [t.primary_key for t in TABLES]
    assert {(t.sync_mode, t.destination_sync_mode, t.cursor_field) for t in tables} == {
        ("incremental", "append_dedup", ("modifieddate",))
    }
    assert check_snapshot(snapshot, "raw_") == ([], [])


def test_money_ints_timestamps_and_uuids_have_airbytes_json_types(snapshot):
    props = _stream(snapshot, "salesorderheader")["stream"]["jsonSchema"]["properties"]

    assert props["totaldue"] == {"type": "number"}
    assert props["salesorderid"] == {"type": "number", "airbyte_type": "integer"}
    assert props["orderdate"]["airbyte_type"] == "timestamp_without_timezone"
    assert props["rowguid"] == {"type": "string"}
    assert props["onlineorderflag"] == {"type": "boolean"}


def test_namespace_definitions():
    dest = {"configuration": {"schema": "main", "dataset_id": "airbyte"}}

    assert destination_namespace({"namespaceDefinition": "source"}, dest, "sales") == "sales"
    assert destination_namespace({"namespaceDefinition": "destination"}, dest, "sales") == "airbyte"
    custom = {"namespaceDefinition": "custom_format", "namespaceFormat": "raw_${SOURCE_NAMESPACE}"}
    assert destination_namespace(custom, dest, "sales") == "raw_sales"


def test_a_stream_prefix_or_another_namespace_is_an_error(snapshot):
    snapshot["connection"]["prefix"] = "ab_"
    errors, _ = check_snapshot(snapshot, "raw_")
    assert any("stream prefix 'ab_'" in e for e in errors)
    assert any("lands in raw_sales.ab_salesorderheader" in e for e in errors) is False

    snapshot["connection"]["prefix"] = ""
    snapshot["connection"]["namespaceDefinition"] = "source"
    errors, _ = check_snapshot(snapshot, "raw_")
    assert len(errors) == 12 and "lands in person.countryregion" in errors[0]


def test_deselected_or_full_refresh_streams_are_warnings(snapshot):
    _stream(snapshot, "store")["config"]["selected"] = False
    header = _stream(snapshot, "salesorderheader")["config"]
    header.update(syncMode="full_refresh", destinationSyncMode="overwrite", cursorField=[])

    errors, warnings = check_snapshot(snapshot, "raw_")

    assert errors == []
    assert "source table sales.store is not synced by the connection." in warnings
    assert any("salesorderheader syncs as full_refresh | overwrite" in w for w in warnings)
    assert len(selected_tables(snapshot)) == 11


def test_destination_secrets_are_not_kept():
    kept = trim_destination(
        {
            "destinationId": "d",
            "destinationType": "bigquery",
            "configuration": {
                "project_id": "acme",
                "dataset_location": "EU",
                "credentials_json": "**********",
                "loading_method": {"method": "GCS Staging", "hmac_key_secret": "x"},
            },
        }
    )

    assert kept["configuration"] == {"project_id": "acme", "dataset_location": "EU"}


def test_cache_round_trip_and_damaged_files(snapshot, tmp_path):
    path = tmp_path / "specs.json"
    write_snapshot(path, snapshot)
    assert read_snapshot(path) == snapshot

    path.write_text("{not json")
    with pytest.raises(ConfigError, match=r"unreadable.*refresh-specs"):
        read_snapshot(path)
    path.write_text(json.dumps({"format": "something-else"}))
    with pytest.raises(ConfigError, match="not a adw-airbyte-specs/1 file"):
        read_snapshot(path)
    del snapshot["connection"]["syncCatalog"]
    path.write_text(json.dumps(snapshot))
    with pytest.raises(ConfigError, match="no connection syncCatalog"):
        read_snapshot(path)
