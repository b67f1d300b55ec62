"""The dbt project's structure, read from its parsed manifest (no warehouse needed): keys are
tested, foreign keys have relationships, core marts enforce contracts, the business marts keep
their public columns, the SQL follows the house style, sensitive columns stay in staging."""

from __future__ import annotations

import importlib.util
import json
import re

import pytest

from adw_assets.lib.dbt import ensure_manifest, project_dir, run_dbt
from tests.dbt.dbt_chain import settings_for

# the folders of the sales models (web events live in their own folders)
SALES_FOLDERS = (
    "staging/person/",
    "staging/production/",
    "staging/sales/",
    "intermediate/",
    "marts/core/",
    "marts/sales/",
    "marts/customers/",
)
CORE_MARTS = (
    "dim_customers",
    "dim_products",
    "dim_addresses",
    "dim_dates",
    "dim_order_statuses",
    "dim_credit_cards",
    "fct_sales",
    "fct_orders",
)
# the public interface of the business marts (issue 4): names and columns, kept exactly
BUSINESS_MARTS = {
    "rpt_sales_by_product_category": [
        "category_name", "subcategory_name", "order_count", "units_sold", "revenue",
    ],
    "rpt_customer_acquisition": [
        "month_start", "new_customers", "active_customers", "orders", "revenue",
        "avg_order_value", "avg_spend_per_customer",
    ],
    "rpt_order_status": [
        "status_code", "status_name", "order_count", "online_order_count", "total_due",
    ],
    "rpt_sales_by_geography": [
        "country_name", "state_province_name", "city", "order_count", "customer_count",
        "total_due",
    ],
}  # fmt: skip
FOREIGN_KEYS = {
    "fct_sales": {
        "sales_order_id": "fct_orders",
        "product_id": "dim_products",
        "customer_id": "dim_customers",
        "ship_to_address_id": "dim_addresses",
        "credit_card_id": "dim_credit_cards",
        "status_code": "dim_order_statuses",
        "order_date": "dim_dates",
    },
    "fct_orders": {
        "customer_id": "dim_customers",
        "bill_to_address_id": "dim_addresses",
        "ship_to_address_id": "dim_addresses",
        "credit_card_id": "dim_credit_cards",
        "status_code": "dim_order_statuses",
        "order_date": "dim_dates",
    },
    "dim_customers": {"home_address_id": "dim_addresses"},
}


@pytest.fixture(scope="module")
def manifest(tmp_path_factory) -> dict:
    path = ensure_manifest(settings_for(tmp_path_factory.mktemp("manifest")))
    return json.loads(path.read_text())


def _sales_models(manifest: dict) -> dict[str, dict]:
    return {
        node["name"]: node
        for node in manifest["nodes"].values()
        if node["resource_type"] == "model"
        and node["original_file_path"].removeprefix("models/").startswith(SALES_FOLDERS)
    }


def _tests_of(manifest: dict, model: str) -> list[dict]:
    uid = f"model.adw.{model}"
    return [
        n
        for n in manifest["nodes"].values()
        if n["resource_type"] == "test" and n.get("attached_node") == uid
    ]


def test_every_model_key_is_unique_and_not_null(manifest):
    models = _sales_models(manifest)
    assert len(models) >= 26
    for name, node in models.items():
        tests = _tests_of(manifest, name)
        not_null = {t["column_name"] for t in tests if t["test_metadata"]["name"] == "not_null"}
        not_null |= {
            column
            for column, spec in node["columns"].items()
            if any(c["type"] == "not_null" for c in spec.get("constraints", []))
        }
        unique = [t["column_name"] for t in tests if t["test_metadata"]["name"] == "unique"]
        combos = [
            t["test_metadata"]["kwargs"]["combination_of_columns"]
            for t in tests
            if t["test_metadata"]["name"] == "unique_combination_of_columns"
        ]
        keys = [[c] for c in unique] + combos
        assert keys, f"{name} has no unique key test"
        # every key column is not null (by test, constraint, or the key of a mart built on it)
        assert any(set(k) <= not_null for k in keys) or name.startswith("rpt_"), name


def test_every_foreign_key_has_a_relationships_test(manifest):
    for model, keys in FOREIGN_KEYS.items():
        relationships = {
            t["column_name"]: t["test_metadata"]["kwargs"]["to"]
            for t in _tests_of(manifest, model)
            if t["test_metadata"]["name"] == "relationships"
        }
        for column, parent in keys.items():
            assert column in relationships, f"{model}.{column} has no relationships test"
            assert parent in relationships[column], (model, column)


def test_statuses_have_accepted_values(manifest):
    accepted = {
        (t["attached_node"].split(".")[-1], t["column_name"])
        for t in manifest["nodes"].values()
        if t["resource_type"] == "test"
        and t.get("test_metadata", {}).get("name") == "accepted_values"
    }
    for model, column in [
        ("stg_sales__orders", "status_code"),
        ("dim_order_statuses", "status_code"),
        ("dim_order_statuses", "status_name"),
        ("rpt_order_status", "status_name"),
    ]:
        assert (model, column) in accepted


def test_core_marts_enforce_contracts(manifest):
    models = _sales_models(manifest)
    for name in CORE_MARTS:
        node = models[name]
        assert node["config"]["contract"]["enforced"], name
        assert node["config"]["materialized"] in ("table", "incremental"), name
        assert all(c.get("data_type") for c in node["columns"].values()), name
    for name in ("fct_sales", "fct_orders"):
        config = models[name]["config"]
        assert config["materialized"] == "incremental"
        assert config["incremental_strategy"] == "merge"


def test_business_marts_document_their_public_columns(manifest):
    models = _sales_models(manifest)
    for name, columns in BUSINESS_MARTS.items():
        assert list(models[name]["columns"])[: len(columns)] == columns, name
        assert models[name]["config"]["materialized"] == "table"


def test_unit_tests_cover_revenue_new_customers_and_days_to_ship(manifest):
    covered = {u["model"]: u["name"] for u in manifest["unit_tests"].values()}
    assert "revenue" in covered["fct_sales"]
    assert "days_to_ship" in covered["fct_orders"]
    assert "new_customer" in covered["rpt_customer_acquisition"]


def test_sources_are_the_replicated_tables_with_freshness(manifest):
    ours = ("person", "production", "sales")
    sources = [s for s in manifest["sources"].values() if s["source_name"] in ours]
    assert len(sources) == 12
    for source in sources:
        assert source["schema"] == f"raw_{source['source_name']}"
        assert source["loaded_at_field"] == "_airbyte_extracted_at"
        assert source["freshness"]["warn_after"]["count"]
        assert source["freshness"]["error_after"]["count"]


def test_sql_follows_house_style_and_cards_stay_in_staging(manifest):
    models = _sales_models(manifest)
    for name, node in models.items():
        code = re.sub(r"\{#.*?#\}", "", node["raw_code"], flags=re.S)
        assert "::" not in code, f"{name}: use cast(), not ::"
        assert "cardnumber" not in code or name == "stg_sales__credit_cards", name
        if name.startswith("stg_"):
            assert not re.search(r"\bjoin\b", code), f"{name}: no joins in staging"
            assert node["config"]["materialized"] == "view"
        else:
            assert "source(" not in code, f"{name}: only staging reads sources"
    seeds = {n["name"] for n in manifest["nodes"].values() if n["resource_type"] == "seed"}
    assert {"orderstatus", "online_orders"} <= seeds


def test_custom_schemas_are_used_as_is(manifest):
    schemas = {n["name"]: n["schema"] for n in _sales_models(manifest).values()}
    assert schemas["stg_sales__orders"] == "staging"
    assert schemas["int_addresses_joined"] == "intermediate"
    assert schemas["fct_orders"] == "marts"
    assert schemas["rpt_order_status"] == "marts"


@pytest.mark.skipif(
    importlib.util.find_spec("dbt.adapters.bigquery") is None,
    reason="dbt-bigquery is not installed: pip install -e '.[bigquery]' to parse the prod target",
)
def test_prod_target_parses_for_bigquery(tmp_path):
    settings = settings_for(tmp_path, ADW_DBT_TARGET="prod", ADW_BQ_PROJECT="adw-test")
    run_dbt(["parse"], settings=settings, target_path=tmp_path / "target")
    manifest = json.loads((tmp_path / "target" / "manifest.json").read_text())
    assert manifest["metadata"]["adapter_type"] == "bigquery"
    schemas = {n["name"]: n["schema"] for n in manifest["nodes"].values()}
    assert schemas["fct_orders"] == "adw_marts"  # datasets get the ADW_BQ_DATASET_PREFIX
    assert project_dir().joinpath("profiles.yml").read_text().count("bigquery") >= 1
