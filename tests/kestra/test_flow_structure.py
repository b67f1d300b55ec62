"""Structure of every Kestra flow: schema, ids, references, the never-double-run rules, and the
Dagster jobs they name."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from tests.kestra.flows import FLOWS_DIR, SUBFLOW, all_flows, expressions, flow_files, iter_tasks

SCHEMA = json.loads((Path(__file__).parent / "kestra_flow.schema.json").read_text())
NAMESPACE = "adw.analytics"
RUNNER = "adw_dagster_job"  # the one flow that talks to Dagster
FLOWS = flow_files()
TRIGGER_RUN = "io.kestra.plugin.dagster.TriggerRun"
HTTP = "io.kestra.plugin.core.http.Request"
LOOP = "io.kestra.plugin.core.flow.LoopUntil"
FLOWABLE = {SUBFLOW, LOOP, "io.kestra.plugin.core.flow.Sequential"}


def with_defaults(flow: dict) -> dict:
    """The flow as Kestra validates it: pluginDefaults injected into the tasks of their type."""
    flow = copy.deepcopy(flow)
    for default in flow.get("pluginDefaults") or []:
        for task in iter_tasks(flow["tasks"]):
            if task["type"] == default["type"]:
                for key, value in default["values"].items():
                    task.setdefault(key, copy.deepcopy(value))
    return flow


def scheduled() -> dict[str, dict]:
    return {fid: f for fid, f in all_flows().items() if f.get("triggers")}


def subflow_calls(flow: dict) -> list[dict]:
    return [t for t in iter_tasks(flow["tasks"]) if t["type"] == SUBFLOW]


def test_each_scheduled_job_has_exactly_one_flow():
    jobs = [c["inputs"]["job_name"] for f in scheduled().values() for c in subflow_calls(f)]
    assert sorted(jobs) == ["elt_job", "full_refresh_job", "web_events_job"]


@pytest.mark.parametrize("path", FLOWS, ids=lambda p: p.name)
def test_flow_matches_schema(path):
    jsonschema.validate(with_defaults(yaml.safe_load(path.read_text())), SCHEMA)


def _task(flow: dict, task_id: str) -> dict:
    return next(t for t in iter_tasks(flow["tasks"]) if t["id"] == task_id)


@pytest.mark.parametrize(
    ("flow_id", "mutate"),
    [
        (RUNNER, lambda f: _task(f, "launch_run").update(jobname="elt_job")),  # typo of jobName
        (RUNNER, lambda f: _task(f, "launch_run").pop("location")),  # required property missing
        (RUNNER, lambda f: _task(f, "launch_run")["body"].update(tags={"a": "b"})),  # dropped
        (RUNNER, lambda f: _task(f, "launch_run")["retry"].update(maxAttempt=2)),  # 0.x name
        (RUNNER, lambda f: _task(f, "wait_for_run")["checkFrequency"].update(timeout="PT1M")),
        (RUNNER, lambda f: _task(f, "poll_run").update(url="x")),
        (RUNNER, lambda f: f["inputs"][2].update(defaults="one hour")),
        ("adw_elt_hourly", lambda f: f["triggers"][0].update(cron="every hour")),
        ("adw_elt_hourly", lambda f: f.update(namespaces="adw")),
    ],
    ids=[
        "typo",
        "missing-required",
        "body-tags",
        "old-retry-name",
        "unknown-check-frequency",
        "http-typo",
        "bad-duration-input",
        "bad-cron",
        "unknown-flow-key",
    ],
)
def test_schema_rejects_typos_and_gaps(flow_id, mutate):
    flow = copy.deepcopy(all_flows()[flow_id])
    mutate(flow)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(with_defaults(flow), SCHEMA)


@pytest.mark.parametrize("path", FLOWS, ids=lambda p: p.name)
def test_ids_namespace_and_descriptions(path):
    flow = yaml.safe_load(path.read_text())
    assert flow["id"] == path.stem, "the file name must equal the flow id"
    assert re.fullmatch(r"[a-z][a-z0-9_]*", flow["id"]), "snake_case flow ids"
    assert flow["namespace"] == NAMESPACE
    assert flow.get("description")
    tasks = list(iter_tasks(flow["tasks"]))
    ids = [t["id"] for t in tasks] + [t["id"] for t in flow.get("triggers", [])]
    assert len(ids) == len(set(ids)), f"duplicate task ids in {path.name}: {ids}"
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", i) for i in ids), ids
    assert all(t.get("description") for t in tasks)
    assert all(i.get("description") for i in flow.get("inputs") or [])


def _descendants(task: dict) -> list[str]:
    return [t["id"] for t in iter_tasks(task.get("tasks") or []) if t is not task]


@pytest.mark.parametrize("path", FLOWS, ids=lambda p: p.name)
def test_every_reference_is_declared_before_use(path):
    """vars/inputs are declared; outputs.X names a task that ran before (or, in a flowable's
    own properties such as a loop condition, one of its children)."""
    flow = yaml.safe_load(path.read_text())
    variables = set((flow.get("variables") or {}).keys())
    inputs = {i["id"] for i in flow.get("inputs") or []}
    seen: list[str] = []
    for task in iter_tasks(flow["tasks"]):
        own = {k: v for k, v in task.items() if k not in ("tasks", "errors")}
        visible = set(seen) | set(_descendants(task))
        for expr in expressions(own) + expressions(flow.get("pluginDefaults") or []):
            for name in re.findall(r"\bvars\.([A-Za-z_][A-Za-z0-9_]*)", expr):
                assert name in variables, f"{path.name}: vars.{name} is not declared"
            for name in re.findall(r"\binputs\.([A-Za-z_][A-Za-z0-9_]*)", expr):
                assert name in inputs, f"{path.name}: inputs.{name} is not declared"
            for name in re.findall(r"\boutputs\.([A-Za-z_][A-Za-z0-9_-]*)", expr):
                assert name in visible, f"{path.name}: outputs.{name} used before {name} ran"
            for secret in re.findall(r"secret\('([^']+)'\)", expr):
                assert re.fullmatch(r"[A-Z][A-Z0-9_]*", secret), secret
        seen.append(task["id"])


def test_no_task_can_launch_a_second_run():
    """The rules that make a double run impossible (docs/orchestration.md): the only launch
    never waits, so its retry can only follow a failed launch request; nothing else launches
    or retries a flowable; the wait is bounded and failing it terminates the run."""
    flows = {fid: with_defaults(f) for fid, f in all_flows().items()}
    launches = [
        (fid, t)
        for fid, f in flows.items()
        for t in iter_tasks(f["tasks"])
        if t["type"] == TRIGGER_RUN
    ]
    assert [fid for fid, _ in launches] == [RUNNER]
    (_, launch), runner = launches[0], flows[RUNNER]
    assert launch["wait"] is False and not {"maxDuration", "pollFrequency"} & set(launch)
    for fid, flow in flows.items():
        assert "retry" not in flow, fid
        for task in iter_tasks(flow["tasks"]):
            assert not (task["type"] in FLOWABLE and "retry" in task), (fid, task["id"])
            if task["type"] == HTTP:  # no request sends a launch mutation
                used = re.findall(r"\bvars\.(\w+)", task["body"])
                sent = task["body"] + "".join(str(flow["variables"][v]) for v in used)
                assert not re.search(r"launchPipelineExecution|launchRun\b", sent), task["id"]
    top = [t["id"] for t in runner["tasks"]]
    assert top == ["launch_run", "watch_run", "check_run_status"]
    watch = runner["tasks"][1]
    (loop,) = [t for t in watch["tasks"] if t["type"] == LOOP]
    assert loop["failOnMaxReached"] is True
    assert loop["checkFrequency"]["maxDuration"] == "{{ inputs.max_wait }}"
    stops = [t for t in iter_tasks(watch["errors"]) if t["type"] == HTTP]
    assert stops and all("terminate_run_mutation" in t["body"] for t in stops)
    assert "terminateRun(runId: $runId)" in runner["variables"]["terminate_run_mutation"]


def test_scheduled_flows_wait_for_the_runner_and_fail_with_it():
    for fid, flow in scheduled().items():
        (call,) = subflow_calls(flow)
        assert (call["namespace"], call["flowId"]) == (NAMESPACE, RUNNER), fid
        assert call["wait"] is True and call["transmitFailed"] is True, fid
        assert flow["concurrency"]["limit"] == 1, fid
        assert set(call["inputs"]) <= {i["id"] for i in all_flows()[RUNNER]["inputs"]}


@pytest.mark.parametrize("path", FLOWS, ids=lambda p: p.name)
def test_nothing_secret_is_hard_coded(path):
    text = path.read_text()
    assert "http://" not in text and "https://" not in text, "URLs come from secret()"
    flow = with_defaults(yaml.safe_load(text))
    for task in iter_tasks(flow["tasks"]):
        if task["type"] == TRIGGER_RUN:
            assert "secret(" in task["baseUrl"]
            assert "secret(" in task["options"]["headers"]["Authorization"]
        if task["type"] == HTTP:
            assert "secret(" in task["uri"] and "secret(" in task["headers"]["Authorization"]


def test_flow_jobs_exist_in_the_dagster_definitions():
    from tests.support.dagster import definitions

    defs = definitions()
    workspace = yaml.safe_load((FLOWS_DIR.parent / "workspace.yaml").read_text())
    locations = {e["python_module"]["location_name"] for e in workspace["load_from"]}
    runner = all_flows()[RUNNER]
    defaults = {i["id"]: i.get("defaults") for i in runner["inputs"]}
    repo = defs.get_repository_def()
    assert defaults["location"] in locations
    assert runner["variables"]["repository"] == repo.name
    for flow in scheduled().values():
        for call in subflow_calls(flow):
            assert repo.has_job(call["inputs"]["job_name"]), call["inputs"]
