"""A run that outlasts a flow's wait: launched once, and terminated when the wait runs out.

The live Dagster runs one run at a time; ``hold_job`` (tests/kestra/hold_location.py) takes
that slot, so a web_events_job run waits QUEUED, as it does behind a long elt_job in
production. Durations are shortened in the rendered flows, never in the committed files.
"""

from __future__ import annotations

import copy
import threading

import pytest

from tests.kestra import dagster_runs
from tests.kestra.emulator import Kestra
from tests.kestra.flows import FIXTURES_DIR, all_flows, load, secrets_for, with_subflow_inputs

pytestmark = pytest.mark.slow
JOB = "web_events_job"
SHORT = {"max_wait": "PT3S", "poll_interval": "PT0.5S"}


@pytest.fixture
def slot_taken(live_dagster):
    """hold_job STARTED in the only run slot; afterwards, every run the test left is stopped."""
    url = live_dagster["url"]
    before = dagster_runs.runs(url, JOB)
    holder = dagster_runs.launch(url, "hold_job", "kestra_test")
    dagster_runs.wait_for(url, holder, ("STARTED",))
    yield before
    dagster_runs.stop(url, [holder, *dagster_runs.new_runs(url, JOB, before)])


def _kestra(live) -> Kestra:
    return Kestra(all_flows().values(), secrets_for(live["url"]))


def test_old_flow_launches_a_second_run_when_the_queue_outlasts_max_duration(
    live_dagster, slot_taken
):
    """The bug, on the flow as it was (tests/kestra/fixtures): TriggerRun wait: true throws at
    maxDuration without cancelling its run, and the task's retry launches another one."""
    old = load(FIXTURES_DIR / "adw_web_events_refresh.yml")
    trigger = old["tasks"][0]
    trigger.update(maxDuration="PT3S", pollFrequency="PT0.5S")
    trigger["retry"]["interval"] = "PT1S"  # constant, maxAttempts 2 as committed

    execution = Kestra([old], secrets_for(live_dagster["url"])).execute(old)

    launched = dagster_runs.new_runs(live_dagster["url"], JOB, slot_taken)
    assert execution.state == "FAILED"
    assert "trigger_web_events" not in execution.outputs  # a task that throws has no outputs
    assert execution.attempts["trigger_web_events"] == 2
    assert len(launched) == 2, launched  # two runs of one scheduled refresh
    assert {r["status"] for r in launched.values()} == {"QUEUED"}  # both will still run


def test_fixed_flow_launches_one_run_and_terminates_it_when_the_wait_runs_out(
    live_dagster, slot_taken
):
    kestra = _kestra(live_dagster)
    flow = with_subflow_inputs(kestra.flows[("adw.analytics", "adw_web_events_refresh")], **SHORT)

    execution = kestra.execute(flow)

    launched = dagster_runs.new_runs(live_dagster["url"], JOB, slot_taken)
    assert execution.state == "FAILED"
    (child,) = execution.subflows
    assert child.attempts["launch_run"] == 1
    assert "did not end within PT3S" in child.error, child.error
    assert len(launched) == 1, launched
    ((run_id, run),) = launched.items()
    assert run["status"] == "CANCELED"  # terminated while queued: it never starts
    assert not dagster_runs.started(live_dagster["url"], run_id)


def test_a_started_run_that_outlasts_the_wait_is_terminated(live_dagster):
    """hold_job launched by the flow itself: the slot is free, so it starts (15 s leaves time
    for that on a loaded machine) and is still running when the wait runs out."""
    url = live_dagster["url"]
    before = dagster_runs.runs(url, "hold_job")
    inputs = {"job_name": "hold_job", "location": "kestra_test", "max_wait": "PT15S"}

    execution = _kestra(live_dagster).execute(
        "adw_dagster_job", {**inputs, "poll_interval": "PT0.5S"}
    )

    launched = dagster_runs.new_runs(url, "hold_job", before)
    assert execution.state == "FAILED"
    assert "did not end within PT15S" in execution.error
    assert len(launched) == 1, launched
    (run_id,) = launched
    assert launched[run_id]["status"] in ("CANCELING", "CANCELED")
    assert dagster_runs.wait_for(url, run_id, dagster_runs.FINISHED, timeout=60) == "CANCELED"
    assert dagster_runs.started(url, run_id)  # it had started: stopped, not merely dequeued


def test_a_refresh_that_finds_the_previous_one_running_is_skipped(live_dagster, slot_taken):
    kestra = _kestra(live_dagster)
    flow = with_subflow_inputs(
        kestra.flows[("adw.analytics", "adw_web_events_refresh")], max_wait="PT4S"
    )
    results = []
    threads = [
        threading.Thread(target=lambda: results.append(kestra.execute(copy.deepcopy(flow))))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sorted(e.state for e in results) == ["CANCELLED", "FAILED"]
    launched = dagster_runs.new_runs(live_dagster["url"], JOB, slot_taken)
    assert len(launched) == 1, launched
