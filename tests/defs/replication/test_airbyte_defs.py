"""With Airbyte replicating, the code location loads from the cached specs, offline: the same
replicated tables, only the replicator resource differs."""

from __future__ import annotations

import json
import socket

import dagster as dg
import pytest

from adw_assets.errors import ConfigError
from adw_assets.lib.source.catalog import TABLES
from adw_assets.settings import get_settings


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def airbyte_env(monkeypatch):
    """ADW_REPLICATION=airbyte with an Airbyte URL where nothing listens."""
    monkeypatch.setenv("ADW_REPLICATION", "airbyte")
    monkeypatch.setenv("ADW_AIRBYTE_URL", f"http://127.0.0.1:{_closed_port()}")
    monkeypatch.setenv("ADW_AIRBYTE_WORKSPACE_ID", "8c6f3a39-0c8e-4b5e-9d43-1f2a8a0c7e11")
    monkeypatch.setenv("ADW_AIRBYTE_CLIENT_ID", "adw")
    monkeypatch.setenv("ADW_AIRBYTE_CLIENT_SECRET", "secret-that-must-not-leak")
    monkeypatch.setenv("ADW_AIRBYTE_CONNECTION_ID", "5b1e0f55-9f0e-4a51-a8f5-0c1b2a3d4e5f")
    get_settings.cache_clear()


def _build() -> dg.Definitions:
    from tests.support.dagster import definitions

    defs = definitions()
    dg.Definitions.validate_loadable(defs)
    return defs


def _replicated_nodes(defs: dg.Definitions) -> dict[dg.AssetKey, object]:
    graph = defs.resolve_asset_graph()
    return {
        k: graph.get(k)
        for k in graph.get_all_asset_keys()
        if graph.get(k).group_name == "replication"
    }


def test_loads_offline_with_the_embedded_backends_keys_deps_group_and_kinds(airbyte_env):
    nodes = _replicated_nodes(_build())

    expected = {dg.AssetKey([f"raw_{t.schema}", t.name]): t for t in TABLES}
    assert set(nodes) == set(expected)
    for key, t in expected.items():
        node = nodes[key]
        assert node.group_name == "replication"
        assert node.kinds == {"airbyte", "duckdb"}
        assert set(node.parent_keys) == {dg.AssetKey([t.schema, t.name])}
        assert node.metadata["primary_key"] == ", ".join(t.primary_key)


def test_loading_makes_no_request_to_airbyte(airbyte_env, monkeypatch, source_db, tmp_path):
    from tests.support.airbyte_api import AirbyteStandIn

    with AirbyteStandIn(source_db, tmp_path / "w.duckdb") as stand_in:
        for name, value in stand_in.env().items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        _build()
        assert stand_in.requests == []


def test_secrets_stay_out_of_the_definitions(airbyte_env):
    defs = _build()
    resource = defs.resources["replicator"]

    assert isinstance(resource.workspace.client_secret, dg.EnvVar)
    assert "secret-that-must-not-leak" not in repr(resource)


def test_cloud_workspace_loads_without_network(airbyte_env, monkeypatch):
    from dagster_airbyte import AirbyteCloudWorkspace

    monkeypatch.setenv("ADW_AIRBYTE_CLOUD", "true")
    get_settings.cache_clear()

    defs = _build()

    assert isinstance(defs.resources["replicator"].workspace, AirbyteCloudWorkspace)
    assert len(_replicated_nodes(defs)) == 12


def test_a_cache_for_another_prefix_refuses_to_load(airbyte_env, monkeypatch):
    monkeypatch.setenv("ADW_RAW_PREFIX", "stg_")
    get_settings.cache_clear()

    with pytest.raises(ConfigError, match=r"lands in raw_sales\.salesorderheader, not stg_sales"):
        _build()


def test_a_refreshed_cache_with_another_prefix_gives_those_keys(airbyte_env, monkeypatch, tmp_path):
    from adw_assets.lib.airbyte.config import packaged_specs_path

    snapshot = json.loads(packaged_specs_path().read_text())
    snapshot["connection"]["namespaceFormat"] = "stg_${SOURCE_NAMESPACE}"
    path = tmp_path / "specs.json"
    path.write_text(json.dumps(snapshot))
    monkeypatch.setenv("ADW_AIRBYTE_SPECS", str(path))
    monkeypatch.setenv("ADW_RAW_PREFIX", "stg_")
    get_settings.cache_clear()

    nodes = _replicated_nodes(_build())

    assert dg.AssetKey(["stg_sales", "salesorderheader"]) in nodes
    assert len(nodes) == 12


def test_a_missing_cache_says_how_to_make_one(airbyte_env, monkeypatch, tmp_path):
    monkeypatch.setenv("ADW_AIRBYTE_SPECS", str(tmp_path / "absent.json"))
    get_settings.cache_clear()

    with pytest.raises(ConfigError, match="adw airbyte refresh-specs"):
        _build()
