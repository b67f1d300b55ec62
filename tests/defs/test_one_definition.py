"""One set of definitions in every environment: the same graph, checks, jobs, sensors and
schedules whatever the warehouse and whoever replicates; only the resources differ."""

from __future__ import annotations

import socket

import dagster as dg
import pytest

from adw_assets.defs.warehouse.bigquery import BigQueryWarehouseResource
from adw_assets.defs.warehouse.resources import POOL, DuckDBWarehouseResource
from tests.conftest import REPO_ROOT
from tests.support.dagster import definitions

DBT_BIGQUERY = REPO_ROOT / ".venv-bq" / "bin" / "dbt"
"""dbt with dbt-bigquery, in its own environment (.ci/bigquery-env.sh): the BigQuery targets
are parsed with it, as ADW_DBT_EXECUTABLE lets a deployment do."""
BIGQUERY = {
    "ADW_WAREHOUSE": "bigquery",
    "ADW_BQ_PROJECT": "adw-test",
    "ADW_DBT_EXECUTABLE": str(DBT_BIGQUERY),
}
ENVIRONMENTS = {
    "duckdb": {},
    "bigquery": BIGQUERY,
    "airbyte": {"ADW_REPLICATION": "airbyte"},
    "airbyte+bigquery": {**BIGQUERY, "ADW_REPLICATION": "airbyte"},
}
DOMAINS = {"source", "replication", "core", "web_events", "dashboard"}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _load(monkeypatch, env: dict[str, str]) -> dg.Definitions:
    for name in ("ADW_WAREHOUSE", "ADW_REPLICATION", "ADW_BQ_PROJECT", "ADW_DBT_EXECUTABLE"):
        monkeypatch.delenv(name, raising=False)
    if "ADW_REPLICATION" in env:  # an Airbyte where nothing listens: loading must not call it
        monkeypatch.setenv("ADW_AIRBYTE_URL", f"http://127.0.0.1:{_closed_port()}")
        monkeypatch.setenv("ADW_AIRBYTE_WORKSPACE_ID", "8c6f3a39-0c8e-4b5e-9d43-1f2a8a0c7e11")
        monkeypatch.setenv("ADW_AIRBYTE_CONNECTION_ID", "5b1e0f55-9f0e-4a51-a8f5-0c1b2a3d4e5f")
    for name, value in env.items():
        monkeypatch.setenv(name, value)
    defs = definitions()
    dg.Definitions.validate_loadable(defs)
    return defs


def shape(defs: dg.Definitions) -> dict:
    """Everything but the resources: keys, lineage, groups, checks, jobs and what they select,
    sensors and their targets, schedules."""
    graph = defs.resolve_asset_graph()
    jobs = {}
    for job in defs.resolve_all_job_defs():
        if job.name.startswith("__"):
            continue
        layer = job.asset_layer
        jobs[job.name] = (frozenset(layer.executable_asset_keys), job.tags.get("adw/full_refresh"))
    return {
        "assets": {
            k: (
                graph.get(k).group_name,
                frozenset(graph.get(k).parent_keys),
                graph.get(k).is_materializable,
                graph.get(k).freshness_policy is not None,
            )
            for k in graph.get_all_asset_keys()
        },
        "checks": frozenset(graph.asset_check_keys),
        "jobs": jobs,
        "sensors": {s.name: s.job_name for s in defs.sensors},
        "schedules": {s.name: (s.job_name, s.cron_schedule) for s in defs.schedules},
    }


@pytest.fixture(scope="module")
def shapes() -> dict[str, dict]:
    if not DBT_BIGQUERY.exists():
        pytest.skip(f"{DBT_BIGQUERY} is missing: run `bash .ci/bigquery-env.sh` (dbt-bigquery)")
    out = {}
    with pytest.MonkeyPatch.context() as mp:
        for name, env in ENVIRONMENTS.items():
            out[name] = (shape(defs := _load(mp, env)), defs)
    return out


def test_every_environment_has_the_same_graph_checks_jobs_sensors_and_schedules(shapes):
    reference, _ = shapes["duckdb"]
    assert len(reference["assets"]) == 60 and len(reference["checks"]) == 171
    assert set(reference["jobs"]) == {
        "elt_job",
        "web_events_job",
        "cdc_changes_job",
        "full_refresh_job",
        "dead_letter_retention_job",
        "landing_compaction_job",
    }
    assert reference["schedules"]["dead_letter_retention_schedule"][0] == (
        "dead_letter_retention_job"
    )
    assert reference["schedules"]["landing_compaction_schedule"][0] == "landing_compaction_job"
    for name, (other, _) in shapes.items():
        assert other == reference, name


def test_only_the_resources_and_kind_tags_differ(shapes):
    graph = {name: defs.resolve_asset_graph() for name, (_, defs) in shapes.items()}
    orders = dg.AssetKey(["raw_sales", "salesorderheader"])
    assert {name: g.get(orders).kinds for name, g in graph.items()} == {
        "duckdb": {"duckdb"},
        "bigquery": {"bigquery"},
        "airbyte": {"airbyte", "duckdb"},
        "airbyte+bigquery": {"airbyte", "bigquery"},
    }
    assert isinstance(shapes["duckdb"][1].resources["warehouse"], DuckDBWarehouseResource)
    assert isinstance(shapes["bigquery"][1].resources["warehouse"], BigQueryWarehouseResource)
    kinds = {
        name: type(defs.resources["replicator"]).__name__ for name, (_, defs) in shapes.items()
    }
    assert kinds == {
        "duckdb": "EmbeddedReplicator",
        "bigquery": "EmbeddedReplicator",
        "airbyte": "AirbyteReplicator",
        "airbyte+bigquery": "AirbyteReplicator",
    }


def test_groups_are_the_domains(shapes):
    reference, _ = shapes["duckdb"]
    assert {group for group, *_ in reference["assets"].values()} == DOMAINS


def test_every_op_that_opens_the_warehouse_waits_in_its_pool(shapes):
    _, defs = shapes["duckdb"]
    job = defs.resolve_job_def("elt_job")
    pools = {node.name: node.definition.pool for node in job.graph.node_dict.values()}
    warehouse_ops = {"replicated_tables", "replication_checks", "adw_dbt_models"}
    warehouse_ops |= {"dashboard__snapshot"}
    assert {name for name, pool in pools.items() if pool == POOL} == warehouse_ops
    # no run-tag limit is needed any more: no job carries the old serialization tag
    assert all("adw/warehouse" not in j.tags for j in defs.resolve_all_job_defs())


def test_the_web_events_job_is_everything_built_from_the_web_events(shapes):
    reference, _ = shapes["duckdb"]
    web = reference["jobs"]["web_events_job"][0]
    names = {k.path[-1] for k in web}
    assert names == {
        "stg_web__events",
        "fct_web_events",
        "rpt_web_traffic_by_country",
        "rpt_web_traffic_daily",
        "rpt_web_traffic_order_value_correlation",
        "snapshot",
    }
    assert reference["sensors"] == {
        "web_events_landed_sensor": "web_events_job",
        "cdc_changes_applied_sensor": "cdc_changes_job",
    }
    elt, _ = reference["jobs"]["elt_job"]
    materializable = {k for k, (_, _, m, _) in reference["assets"].items() if m}
    assert elt == materializable and len(elt) == 47
    assert reference["jobs"]["full_refresh_job"] == (elt, "true")
    cdc, _ = reference["jobs"]["cdc_changes_job"]  # what is built from the replicated tables
    names = {k.path[-1] for k in cdc}
    assert {"rpt_order_status", "fct_orders", "snapshot"} <= names
    assert not {"fct_web_events", "rpt_web_traffic_daily"} & names
    assert not any(k.path[0].startswith("raw_") for k in cdc) and cdc < elt
