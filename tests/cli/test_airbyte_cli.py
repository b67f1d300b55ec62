"""``adw airbyte refresh-specs`` and ``adw airbyte status`` against the Airbyte API stand-in."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from adw_assets.cli import main
from adw_assets.lib.airbyte.cache import read_snapshot
from adw_assets.lib.airbyte.config import packaged_specs_path
from adw_assets.settings import get_settings
from tests.support.airbyte_api import AirbyteStandIn, JobOutcome


@pytest.fixture
def airbyte(source_db, adw_home, monkeypatch, tmp_path):
    """The stand-in; the spec cache goes to a temporary file, not the packaged one."""
    with AirbyteStandIn(source_db, tmp_path / "warehouse.duckdb") as stand_in:
        for name, value in stand_in.env().items():
            monkeypatch.setenv(name, value)
        monkeypatch.setenv("ADW_AIRBYTE_SPECS", str(tmp_path / "specs.json"))
        get_settings.cache_clear()
        yield stand_in


def _run(*argv: str) -> int:
    try:
        main(list(argv))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_refresh_specs_writes_the_connection_from_airbyte(airbyte, tmp_path, capsys):
    assert _run("airbyte", "refresh-specs") == 0

    snapshot = read_snapshot(tmp_path / "specs.json")
    assert snapshot["connection"]["connectionId"] == airbyte.connection_id
    assert snapshot["refreshed_from"] == f"{airbyte.url}/api/public/v1"
    assert snapshot["destination"]["configuration"] == {
        "destination_path": str(tmp_path / "warehouse.duckdb"),
        "schema": "main",
    }  # the masked motherduck_api_key is not kept
    calls = {(m, p) for m, p, status in airbyte.requests if status == 200}
    assert {
        ("POST", "/api/public/v1/applications/token"),
        ("GET", f"/api/public/v1/workspaces/{airbyte.workspace_id}"),
        ("GET", "/api/public/v1/connections"),
        ("POST", "/api/v1/connections/get"),
        ("GET", f"/api/public/v1/destinations/{airbyte.destination_id}"),
    } <= calls
    out = capsys.readouterr().out
    assert "raw_sales.salesorderdetail" in out and "salesorderid, salesorderdetailid" in out


def test_refreshed_cache_drives_the_code_location(airbyte, monkeypatch, tmp_path):
    from adw_assets.errors import ConfigError
    from tests.support.dagster import definitions

    monkeypatch.setenv("ADW_REPLICATION", "airbyte")
    with pytest.raises(ConfigError, match="adw airbyte refresh-specs"):
        definitions()  # no cache at ADW_AIRBYTE_SPECS yet
    assert _run("airbyte", "refresh-specs") == 0

    defs = definitions()

    assert type(defs.resources["replicator"]).__name__ == "AirbyteReplicator"
    graph = defs.resolve_asset_graph()
    replicated = [k for k in graph.get_all_asset_keys() if graph.get(k).group_name == "replication"]
    assert len(replicated) == 12 and all("airbyte" in graph.get(k).kinds for k in replicated)


def test_refresh_specs_follows_the_connection_list_pages(airbyte, tmp_path):
    airbyte.page_size_cap = 1
    airbyte.other_connections = [
        {"connectionId": "c-other", "name": "Stripe -> BigQuery", "workspaceId": "w"}
    ]

    assert _run("airbyte", "refresh-specs") == 0

    listed = [p for m, p, _ in airbyte.requests if p == "/api/public/v1/connections"]
    assert len(listed) == 2  # the second page, via the "next" link
    assert read_snapshot(tmp_path / "specs.json")["connection"]["connectionId"] == (
        airbyte.connection_id
    )


def test_refresh_specs_refuses_a_connection_writing_other_tables(airbyte, tmp_path, capsys):
    airbyte.connection["namespaceDefinition"] = "source"  # would write sales.*, not raw_sales.*

    assert _run("airbyte", "refresh-specs") == 1

    err = capsys.readouterr().err
    assert "lands in sales.salesorderheader, not raw_sales.salesorderheader" in err
    assert "Custom format" in err
    assert not (tmp_path / "specs.json").exists()


def test_refresh_specs_names_the_connections_of_the_workspace(airbyte, monkeypatch, capsys):
    monkeypatch.setenv("ADW_AIRBYTE_CONNECTION_ID", "00000000-0000-0000-0000-000000000000")
    get_settings.cache_clear()

    assert _run("airbyte", "refresh-specs") == 1

    err = capsys.readouterr().err
    assert "is not in Airbyte workspace" in err and airbyte.connection_id in err


def test_refresh_specs_without_configuration_lists_what_to_set(adw_home, capsys):
    assert _run("airbyte", "refresh-specs") == 1

    err = capsys.readouterr().err
    assert "ADW_AIRBYTE_URL" in err and "ADW_AIRBYTE_CONNECTION_ID" in err


def test_from_source_regenerates_the_shipped_default(source_db, tmp_path):
    out = tmp_path / "default.json"

    assert _run("airbyte", "refresh-specs", "--from-source", "--output", str(out)) == 0

    assert json.loads(out.read_text()) == json.loads(packaged_specs_path().read_text())


def test_status_shows_configuration_cache_and_jobs(airbyte, capsys):
    airbyte.outcomes.append(JobOutcome(status="failed", message="boom", seconds=0))
    airbyte.run_job()
    assert _run("airbyte", "refresh-specs") == 0
    assert _run("airbyte", "status") == 0
    out = capsys.readouterr().out
    assert f"connection: {airbyte.connection_id}" in out
    assert "auth: client_credentials" in out and "refreshed 20" in out
    assert re.search(r"^\s*1\s+failed\s+20\d\d-", out, re.M), out


def test_status_offline_reads_only_the_cache(adw_home, capsys):
    assert _run("airbyte", "status", "--offline") == 0
    out = capsys.readouterr().out
    assert "never: the shipped default" in out and "12 streams" in out


def test_status_against_airbyte_prints_the_jobs_and_no_beta_warning(airbyte, tmp_path):
    """Run as a user runs it: dagster-airbyte's "class is in beta" is nothing they can act on."""
    airbyte.outcomes.append(JobOutcome(seconds=0))
    airbyte.run_job()
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADW_")}
    env.update(airbyte.env(), ADW_HOME=str(tmp_path / "home"))
    done = subprocess.run(
        [str(Path(sys.executable).with_name("adw")), "airbyte", "status"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert re.search(r"^\s*1\s+succeeded\s+20\d\d-", done.stdout, re.M), done.stdout
    assert "Warning" not in done.stderr, done.stderr
