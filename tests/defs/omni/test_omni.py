"""Omni's documents in the lineage (docs/omni.md), against the Omni API stand-in: the code
location as `dg list defs` loads it, and dagster-omni's component as adw configures it."""

from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from adw_assets.defs import omni
from adw_assets.defs.dbt.translator import AdwDbtTranslator
from adw_assets.defs.omni.assets import dbt_table_keys, omni_component
from adw_assets.errors import ConfigError
from adw_assets.lib.dbt import ensure_manifest
from adw_assets.settings import Settings, get_settings
from tests.support.omni_api import Document, OmniStandIn, Query, User

ROOT = Path(__file__).resolve().parents[3]
DG = Path(sys.executable).parent / "dg"
KEY = "omni-test-key-5d1c9a"
OMNI_IMPORTS = {"simple", "ratio", "derived"}
"""Metric types Omni's dbt semantic-layer integration imports (not cumulative, conversion)."""


def _users(n: int = 205) -> list[User]:
    return [User(f"u{i}", f"user{i}", f"User {i}", f"user{i}@example.com") for i in range(n)]


def _documents() -> list[Document]:
    """23 documents (3 pages of 10): queries on our marts by Omni's names for them."""
    docs = [
        Document(
            "exec-sales",
            "Sales overview",
            "u3",
            "User 3",
            folder_path="Sales/Exec",
            queries=[
                Query("adw_marts__fct_orders", ["adw_marts__fct_orders.total_due"]),
                Query("marts__rpt_sales_by_product_category", ["category_name"]),
                Query("orders", ["orders.order_count"]),  # a semantic model Omni imported
                Query("finance__budget", ["amount"]),  # not a table adw builds
            ],
            favorites=4,
            views=120,
        ),
        Document(
            "web-traffic",
            "Web traffic",
            "u150",
            "User 150",
            queries=[Query("fct_web_events", ["fct_web_events.session_id"])],
        ),
        Document("empty-one", "Notes", "u3", "User 3", folder_path="Sales"),  # 404 queries
        Document("gone", "Old dashboard", "u3", "User 3", deleted=True),
        Document("twin-a", "Orders", "u3", "User 3", folder_path="Ops"),
        Document("twin-b", "Orders", "u4", "User 4", folder_path="Ops"),
    ]
    docs += [
        Document(f"doc-{i:02}", f"Workbook {i:02}", "u7", "User 7", folder_path="Scratch")
        for i in range(17)
    ]
    return docs


def _dg_list(env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(DG), "list", "defs", "--json"], cwd=ROOT, env={**os.environ, **env},
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_every_document_is_an_asset_downstream_of_the_marts_its_queries_read():
    with OmniStandIn(KEY, _documents(), _users(), max_page_size=10) as api:
        api.faults.extend([429, 503, 502])  # rate-limited, then failing: all retried
        done = _dg_list({"ADW_OMNI_URL": api.url, "ADW_OMNI_API_KEY": KEY})
    assert done.returncode == 0, done.stderr
    assets = {a["asset_key"]: a for a in json.loads(done.stdout)["assets"]}
    omni_assets = {k: a for k, a in assets.items() if k.startswith("omni/")}
    assert set(omni_assets) == {
        "omni/Sales/Exec/Sales overview",
        "omni/Web traffic",
        "omni/Sales/Notes",
        "omni/Ops/Orders (twin-a)",
        "omni/Ops/Orders (twin-b)",
        *(f"omni/Scratch/Workbook {i:02}" for i in range(17)),
    }  # every page read, the deleted document left out, same-named twins told apart
    sales = omni_assets["omni/Sales/Exec/Sales overview"]
    read = ["marts/fct_orders", "marts/rpt_sales_by_product_category"]
    assert sorted(sales["dependency_keys"]) == read
    assert omni_assets["omni/Web traffic"]["dependency_keys"] == ["marts/fct_web_events"]
    assert omni_assets["omni/Sales/Notes"]["dependency_keys"] == []
    assert sales["owners"] == [{"email": "user3@example.com"}]
    assert omni_assets["omni/Web traffic"]["owners"] == [{"email": "user150@example.com"}]
    shown = {(a["group_name"], tuple(a["kinds"]), a["is_executable"]) for a in omni_assets.values()}
    assert shown == {("omni", ("omni",), False)}
    assert "finance__budget" not in assets  # a table adw does not build adds no node
    assert "Warning" not in done.stderr

    documents = [q for p, q, s in api.requests if p == "/api/v1/documents" and s == 200]
    assert [q.get("cursor") is not None for q in documents] == [False, True, True]
    assert all(q["include"] == ["_count"] and q["pageSize"] == ["100"] for q in documents)
    users = [q["startIndex"] for p, q, s in api.requests if p == "/api/scim/v2/users" and s == 200]
    assert users == [["1"], ["101"], ["201"]] and all(
        q["count"] == ["100"] for p, q, _ in api.requests if p == "/api/scim/v2/users"
    )
    assert sorted(s for _, _, s in api.requests if s >= 429) == [429, 502, 503]  # each retried
    assert ("/api/v1/documents/empty-one/queries", {}, 404) in api.requests


def test_a_refused_key_is_a_one_line_error_that_names_the_setting():
    with OmniStandIn(KEY, _documents(), _users(3)) as api:
        done = _dg_list({"ADW_OMNI_URL": api.url, "ADW_OMNI_API_KEY": "not-the-key"})
    assert done.returncode != 0
    assert f"Omni at {api.url} refused ADW_OMNI_API_KEY (401 Unauthorized)" in done.stderr
    assert "not-the-key" not in done.stdout + done.stderr
    assert {s for _, _, s in api.requests} == {401}  # a refusal is not retried


def test_an_omni_that_does_not_answer_leaves_its_documents_out_with_one_warning():
    url = f"http://127.0.0.1:{_closed_port()}"
    done = _dg_list({"ADW_OMNI_URL": url, "ADW_OMNI_API_KEY": KEY, "ADW_OMNI_RETRIES": "1"})
    assert done.returncode == 0, done.stderr
    assets = [a["asset_key"] for a in json.loads(done.stdout)["assets"]]
    assert "marts/fct_orders" in assets and not [a for a in assets if a.startswith("omni/")]
    warned = [line for line in done.stderr.splitlines() if "did not answer" in line]
    assert len(warned) == 1 and f"Omni at {url} did not answer after 1 retries" in warned[0]
    assert "reload it when Omni is back" in warned[0]


def test_without_the_settings_nothing_omni_loads_and_nothing_calls_out(monkeypatch):
    from adw_assets.definitions import defs

    with OmniStandIn(KEY, _documents(), _users(3)) as api:
        loaded = defs()
        keys = loaded.resolve_asset_graph().get_all_asset_keys()
        assert keys and not [k for k in keys if k.path[0] == "omni"]
        assert omni.build_defs(get_settings()).resolve_asset_graph().get_all_asset_keys() == set()
        assert api.requests == []
    for name, other in (("ADW_OMNI_URL", "ADW_OMNI_API_KEY"), ("ADW_OMNI_API_KEY", "ADW_OMNI_URL")):
        settings = Settings.from_env({name: "https://acme.omniapp.co"})
        with pytest.raises(ConfigError, match=f"{other} is not set while {name} is"):
            omni.build_defs(settings)


def test_the_component_keeps_the_document_metadata_and_only_what_it_shows(tmp_path):
    settings = get_settings()
    keys = dbt_table_keys(ensure_manifest(settings), AdwDbtTranslator().get_asset_key)
    with OmniStandIn(KEY, _documents(), _users(), max_page_size=10) as api:
        component = omni_component(api.url, KEY, 2, keys)
        state = tmp_path / "state"
        asyncio.run(component.write_state_to_path(state))
        specs = component.build_defs_from_state(
            dg.ComponentTree.for_test().load_context, state
        ).resolve_all_asset_specs()
    specs = [s for s in specs if s.key.path[0] == "omni"]  # not the stubs of the marts read
    stored = state.read_text()
    assert KEY not in stored and "user99" not in stored and "Analysts" not in stored
    assert "user150@example.com" in stored and "user99@example.com" not in stored  # owners only
    spec = next(s for s in specs if s.key.path[-1] == "Sales overview")
    url = f"{api.url}/dashboards/exec-sales"
    assert spec.metadata["dagster-omni/url"] == dg.MetadataValue.url(url)
    assert spec.metadata["dagster-omni/owner_name"] == "User 3"
    updated = datetime(2026, 5, 4, 10, 11, 12, tzinfo=UTC).timestamp()  # the stand-in's
    assert spec.metadata["dagster-omni/updated_at"].value == updated
    assert spec.metadata["dagster-omni/views"] == 120
    assert all(k.startswith("dagster-omni/") for s in specs for k in s.metadata)
    assert dg.AssetKey(["omni", "Old dashboard"]) not in {s.key for s in specs}


def test_the_dbt_project_defines_only_metric_types_omni_imports():
    manifest = json.loads(ensure_manifest(get_settings()).read_text())
    types = {m["name"]: m["type"] for m in manifest["metrics"].values()}
    assert types and {n: t for n, t in types.items() if t not in OMNI_IMPORTS} == {}
