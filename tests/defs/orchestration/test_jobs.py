"""Jobs select by lineage: a model added in a new dbt folder is in the jobs that build what it
reads, with no change to the Dagster code."""

from __future__ import annotations

import shutil

import dagster as dg
import pytest

from adw_assets.lib import dbt as dbt_lib
from tests.support.dagster import definitions

NEW_MODELS = {
    # a new folder, reading a core fact
    "finance/rpt_revenue_by_order_date.sql": (
        "select order_date, sum(total_due) as total_due\nfrom {{ ref('fct_orders') }}\ngroup by 1\n"
    ),
    # another new folder, reading the web events
    "experiments/rpt_sessions_by_device.sql": (
        "select device_type, count(distinct session_id) as sessions\n"
        "from {{ ref('fct_web_events') }}\ngroup by 1\n"
    ),
}


@pytest.fixture
def project_with_new_models(tmp_path, monkeypatch):
    """A copy of the dbt project with two throwaway models in folders of their own."""
    copy = tmp_path / "dbt"
    shutil.copytree(
        dbt_lib.project_dir(), copy, ignore=shutil.ignore_patterns("target", "logs", "dbt_packages")
    )
    for name, sql in NEW_MODELS.items():
        (copy / "models" / name).parent.mkdir(parents=True, exist_ok=True)
        (copy / "models" / name).write_text(sql)
    monkeypatch.setattr(dbt_lib, "DBT_PROJECT_DIR", copy)
    return copy


def _job_keys(defs: dg.Definitions, name: str) -> set[dg.AssetKey]:
    return set(defs.resolve_job_def(name).asset_layer.executable_asset_keys)


def test_a_model_in_a_new_folder_is_in_the_jobs_that_build_what_it_reads(
    project_with_new_models,
):
    defs = definitions()
    graph = defs.resolve_asset_graph()
    by_name = {k.path[-1]: k for k in graph.get_all_asset_keys()}
    finance, sessions = by_name["rpt_revenue_by_order_date"], by_name["rpt_sessions_by_device"]
    assert graph.get(finance).group_name == "core"  # the project's default domain

    assert {finance, sessions} <= _job_keys(defs, "elt_job")
    assert {finance, sessions} <= _job_keys(defs, "full_refresh_job")
    web = _job_keys(defs, "web_events_job")
    assert sessions in web and finance not in web
    cdc = _job_keys(defs, "cdc_changes_job")  # built from the replicated tables
    assert finance in cdc and sessions not in cdc
