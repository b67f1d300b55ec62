"""What a warm build rebuilds, on the real dbt project: the models downstream of the sources
with new data (through either source of a model reading two), the dashboard marts together, and
dbt's own selection of the exclusion keeps every test with a rebuilt parent."""

from __future__ import annotations

import json

import pytest

from adw_assets.defs.dbt.assets import dashboard_marts_ids
from adw_assets.lib.dbt import ensure_manifest, run_dbt
from adw_assets.lib.dbt_state import after_selection, changed_sources, reached, warm_exclusion


@pytest.fixture(scope="module")
def manifest():
    return json.loads(ensure_manifest().read_text())


def names(manifest, uids) -> set[str]:
    return {manifest["nodes"][uid]["name"] for uid in uids}


def test_a_model_reading_two_sources_is_reached_through_either(manifest):
    by_addresses = names(manifest, reached(manifest, {"person.address"}))
    by_orders = names(manifest, reached(manifest, {"sales.salesorderheader"}))
    assert {"stg_person__addresses", "dim_addresses", "rpt_sales_by_geography"} <= by_addresses
    assert {"stg_sales__orders", "fct_orders", "rpt_sales_by_geography"} <= by_orders
    assert "fct_orders" not in by_addresses and "dim_addresses" not in by_orders
    assert "dim_products" not in by_orders | by_addresses
    web = names(manifest, reached(manifest, {"web.events"}))
    assert {"stg_web__events", "fct_web_events", "rpt_web_traffic_daily"} <= web
    assert not names(manifest, reached(manifest, set()))


def test_the_dashboard_marts_are_rebuilt_together(manifest):
    together = dashboard_marts_ids(manifest)
    rebuilt, exclude = warm_exclusion(manifest, {"web.events"}, together)
    assert together <= rebuilt  # the snapshot reads them all
    # the facts and dims MetricFlow reads are relations of the snapshot: rebuilt with it;
    # a mart downstream of the orders only (not reached by web events) is left out
    assert "fct_orders" not in exclude and "dim_products" not in exclude
    assert "rpt_order_status" in exclude and "stg_sales__orders" in exclude
    rebuilt, exclude = warm_exclusion(manifest, {"person.countryregion"}, together)
    assert "source:web.events" in exclude and "source:person.countryregion" not in exclude


def test_changed_sources_says_when_everything_must_be_rebuilt():
    state = {"project": "p", "sources": {"a.b": "1", "web.events": "2"}}
    assert changed_sources(None, state) is None
    assert changed_sources(state, None) is None
    assert changed_sources({**state, "project": "q"}, state) is None  # other project or day
    assert changed_sources({"project": "p", "sources": {"a.b": "1"}}, state) is None
    assert changed_sources(state, state) == set()
    moved = {"project": "p", "sources": {"a.b": "1", "web.events": "3"}}
    assert changed_sources(state, moved) == {"web.events"}


def test_a_selection_moves_a_source_on_only_when_it_rebuilt_all_downstream_of_it(manifest):
    sources = {f"{n['source_name']}.{n['name']}": "0" for n in manifest["sources"].values()}
    recorded = {"project": "p", "sources": sources}
    now = {"project": "p", "sources": {**sources, "web.events": "1", "person.address": "1"}}
    web = reached(manifest, {"web.events"})
    after = after_selection(manifest, recorded, now, web)
    assert after["sources"]["web.events"] == "1"  # all of it rebuilt: current
    assert after["sources"]["person.address"] == "0"  # not: still new for the next build
    part = set(list(reached(manifest, {"person.address"}))[:1])
    assert after_selection(manifest, recorded, now, part)["sources"]["person.address"] == "0"
    assert after_selection(manifest, None, now, web) is None  # no record: rebuild all next
    assert after_selection(manifest, {**recorded, "project": "q"}, now, web) is None


def test_dbt_runs_the_tests_of_what_is_rebuilt_and_those_across_to_what_is_not(
    manifest, tmp_path, monkeypatch
):
    """The exclusion as the dbt step hands it to dbt (cautious indirect selection)."""
    _rebuilt, exclude = warm_exclusion(manifest, {"sales.salesorderheader"})
    monkeypatch.setenv("DBT_INDIRECT_SELECTION", "cautious")
    listed = run_dbt(
        ["ls", "--select", "fqn:*", "--exclude", *exclude, "--output", "name",
         "--resource-type", "test", "--quiet"],
        target_path=tmp_path,
    ).stdout.split()  # fmt: skip
    assert any(t.startswith("not_null_fct_orders_") for t in listed)
    # from a rebuilt fact to a dimension left as it was: still run
    assert any(t.startswith("relationships_fct_sales_product_id") for t in listed)
    # only about models left as they were: not run
    assert not any(t.startswith(("unique_dim_products", "not_null_dim_products")) for t in listed)
    assert not any(t.startswith("not_null_stg_person__persons") for t in listed)
