"""The dbt assets in the Dagster graph: keys, groups, checks and lineage from the source."""

from __future__ import annotations

import json

import dagster as dg
import pytest

from adw_assets.lib.dbt import ensure_manifest
from adw_assets.lib.source.catalog import TABLES
from tests.support.dagster import definitions

LAYERS = ("staging", "intermediate", "marts")


@pytest.fixture(scope="module")
def graph():
    return definitions().resolve_asset_graph()


def test_models_are_keyed_by_schema_and_grouped_by_domain(graph):
    dbt_keys = [k for k in graph.get_all_asset_keys() if "dbt" in graph.get(k).kinds]
    assert len(dbt_keys) >= 28  # 26 sales models + 2 seeds (+ web models)
    for key in dbt_keys:
        schema, _name = key.path
        node = graph.get(key)
        assert schema in LAYERS, key
        web = key.path[1].endswith("web__events") or "_web_" in key.path[1]
        # the dbt group of the folder (dbt_project.yml): web folders are web_events
        assert node.group_name == ("web_events" if web else "core"), key
        assert {"dbt", "duckdb"} <= set(node.kinds)
    assert graph.get(dg.AssetKey(["marts", "fct_orders"])).group_name == "core"
    assert graph.get(dg.AssetKey(["staging", "orderstatus"])).group_name == "core"


def test_sources_resolve_to_the_replicated_table_keys(graph):
    staging = [k for k in graph.get_all_asset_keys() if k.path[0] == "staging"]
    parents = {p for k in staging for p in graph.get(k).parent_keys}
    replicated = {dg.AssetKey([f"raw_{t.schema}", t.name]) for t in TABLES}
    assert replicated <= parents
    assert graph.get(dg.AssetKey(["staging", "stg_sales__orders"])).parent_keys == {
        dg.AssetKey(["raw_sales", "salesorderheader"])
    }


def test_source_keys_follow_the_raw_prefix():
    from adw_assets.defs.dbt.translator import AdwDbtTranslator

    manifest = json.loads(ensure_manifest().read_text())
    source = next(s for s in manifest["sources"].values() if s["name"] == "salesorderheader")
    assert AdwDbtTranslator(raw_prefix="src_").get_asset_key(source) == dg.AssetKey(
        ["src_sales", "salesorderheader"]
    )
    assert AdwDbtTranslator().get_asset_key(source) == dg.AssetKey(
        ["raw_sales", "salesorderheader"]
    )


def test_dbt_tests_are_asset_checks(graph):
    manifest = json.loads(ensure_manifest().read_text())
    data_tests = [
        n
        for n in manifest["nodes"].values()
        if n["resource_type"] == "test"
        and (
            (n.get("attached_node") or "").startswith(("model.", "seed."))
            or n["config"].get("meta", {}).get("dagster", {}).get("ref")  # a singular test's
        )
    ]
    checks = [c for c in graph.asset_check_keys if "dbt" in graph.get(c.asset_key).kinds]
    assert len(checks) == len(data_tests)
    names = {(c.asset_key.to_user_string(), c.name) for c in checks}
    assert ("marts/fct_orders", "unique_fct_orders_sales_order_id") in names


def test_lineage_runs_from_source_through_replication_to_the_marts(graph):
    mart = dg.AssetKey(["marts", "rpt_order_status"])
    ancestors = graph.upstream_key_closure(mart) if hasattr(graph, "upstream_key_closure") else None
    if ancestors is None:
        ancestors, frontier = set(), {mart}
        while frontier:
            parents = {p for k in frontier for p in graph.get(k).parent_keys}
            frontier = parents - ancestors
            ancestors |= parents
    for key in (
        ["marts", "fct_orders"],
        ["staging", "stg_sales__orders"],
        ["raw_sales", "salesorderheader"],
        ["sales", "salesorderheader"],
    ):
        assert dg.AssetKey(key) in ancestors, key
    assert graph.get(dg.AssetKey(["raw_sales", "salesorderheader"])).group_name == "replication"
