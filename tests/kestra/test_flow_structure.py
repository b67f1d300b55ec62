"""Structure of every Kestra flow: schema, ids, references, and the Dagster jobs they name."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.kestra.flows import FLOWS_DIR, expressions, flow_files, iter_tasks, load

SCHEMA = json.loads((Path(__file__).parent / "kestra_flow.schema.json").read_text())
NAMESPACE = "adw.analytics"
FLOWS = flow_files()


def test_there_are_flows_for_each_scheduled_job():
    jobs = {
        t["jobName"] if "{{" not in t["jobName"] else load(p)["variables"]["job_name"]
        for p in FLOWS
        for t in iter_tasks(load(p)["tasks"])
        if t["type"] == "io.kestra.plugin.dagster.TriggerRun"
    }
    assert {"elt_job", "web_events_job", "full_refresh_job"} <= jobs


@pytest.mark.parametrize("path", FLOWS, ids=lambda p: p.name)
def test_flow_matches_schema(path):
    jsonschema.validate(load(path), SCHEMA)


@pytest.mark.parametrize(
    "mutate",
    [
        lambda f: f["tasks"][0].update(jobname="elt_job"),  # typo of jobName
        lambda f: f["tasks"][0].pop("location"),  # required property missing
        lambda f: f["triggers"][0].update(cron="every hour"),
        lambda f: f["tasks"][0].update(maxDuration="30 minutes"),
        lambda f: f.update(namespaces="adw"),
    ],
    ids=["typo", "missing-required", "bad-cron", "bad-duration", "unknown-flow-key"],
)
def test_schema_rejects_typos_and_gaps(mutate):
    flow = copy.deepcopy(load(FLOWS[0]))
    mutate(flow)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(flow, SCHEMA)


@pytest.mark.parametrize("path", FLOWS, ids=lambda p: p.name)
def test_ids_namespace_and_descriptions(path):
    flow = load(path)
    assert flow["id"] == path.stem, "the file name must equal the flow id"
    assert flow["namespace"] == NAMESPACE
    assert flow.get("description")
    ids = [t["id"] for t in iter_tasks(flow["tasks"])] + [t["id"] for t in flow.get("triggers", [])]
    assert len(ids) == len(set(ids)), f"duplicate task ids in {path.name}: {ids}"
    assert all(t.get("description") for t in iter_tasks(flow["tasks"]))


@pytest.mark.parametrize("path", FLOWS, ids=lambda p: p.name)
def test_every_reference_is_declared_before_use(path):
    flow = load(path)
    variables = set((flow.get("variables") or {}).keys())
    inputs = {i["id"] for i in flow.get("inputs") or []}
    seen: list[str] = []
    for task in iter_tasks(flow["tasks"]):
        for expr in expressions({k: v for k, v in task.items() if k not in ("tasks",)}):
            for name in re.findall(r"\bvars\.([A-Za-z_][A-Za-z0-9_]*)", expr):
                assert name in variables, f"{path.name}: vars.{name} is not declared"
            for name in re.findall(r"\binputs\.([A-Za-z_][A-Za-z0-9_]*)", expr):
                assert name in inputs, f"{path.name}: inputs.{name} is not declared"
            for name in re.findall(r"\boutputs\.([A-Za-z_][A-Za-z0-9_-]*)", expr):
                assert name in seen, f"{path.name}: outputs.{name} used before task {name} ran"
            for secret in re.findall(r"secret\('([^']+)'\)", expr):
                assert re.fullmatch(r"[A-Z][A-Z0-9_]*", secret), secret
        seen.append(task["id"])


@pytest.mark.parametrize("path", FLOWS, ids=lambda p: p.name)
def test_trigger_run_is_gated_on_its_status(path):
    """TriggerRun does not fail on a failed Dagster run: a later task must fail the execution."""
    tasks = list(iter_tasks(load(path)["tasks"]))
    for i, task in enumerate(tasks):
        if task["type"] != "io.kestra.plugin.dagster.TriggerRun":
            continue
        assert task.get("wait") is True, "wait: true, or the status is never terminal"
        assert "retry" in task
        gates = [
            t
            for t in tasks[i + 1 :]
            if t["type"] == "io.kestra.plugin.core.execution.Fail"
            and f"outputs.{task['id']}.status" in t.get("condition", "")
        ]
        assert gates, f"{path.name}: nothing fails the execution when {task['id']} ends FAILURE"


@pytest.mark.parametrize("path", FLOWS, ids=lambda p: p.name)
def test_nothing_secret_is_hard_coded(path):
    text = path.read_text()
    assert "http://" not in text and "https://" not in text, "URLs come from secret()/variables"
    flow = yaml.safe_load(text)
    for task in iter_tasks(flow["tasks"]):
        if task["type"] == "io.kestra.plugin.dagster.TriggerRun":
            assert "secret(" in task["baseUrl"]
            assert "secret(" in task["options"]["headers"]["Authorization"]


def test_flow_jobs_exist_in_the_dagster_definitions():
    from adw_assets.definitions import defs

    workspace = yaml.safe_load((FLOWS_DIR.parent / "workspace.yaml").read_text())
    locations = {e["python_module"]["location_name"] for e in workspace["load_from"]}
    repo = defs.get_repository_def()
    for path in FLOWS:
        flow = load(path)
        for task in iter_tasks(flow["tasks"]):
            if task["type"] != "io.kestra.plugin.dagster.TriggerRun":
                continue
            vars_ = flow.get("variables", {})
            resolved = {
                k: vars_[re.fullmatch(r"\{\{\s*vars\.(\w+)\s*\}\}", task[k]).group(1)]
                if "{{" in task[k]
                else task[k]
                for k in ("location", "repository", "jobName")
            }
            assert resolved["location"] in locations
            assert resolved["repository"] == repo.name
            assert repo.has_job(resolved["jobName"]), f"{path.name}: no Dagster job {resolved}"
