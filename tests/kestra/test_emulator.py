"""The emulated Kestra keeps Kestra's semantics (sources in tests/kestra/emulator/engine.py)
and refuses what it does not emulate. Fast: no Dagster."""

from __future__ import annotations

import threading
import time

import pytest

from tests.kestra.emulator import Kestra, NotEmulated
from tests.kestra.emulator.engine import retry_delay
from tests.kestra.emulator.pebble import PebbleError, render_string

FAIL = "io.kestra.plugin.core.execution.Fail"
LOOP = "io.kestra.plugin.core.flow.LoopUntil"


def _flow(tasks, **extra) -> dict:
    return {"id": "f", "namespace": "t", "tasks": tasks, **extra}


def _fail(task_id: str, message: str = "boom", **extra) -> dict:
    return {"id": task_id, "type": FAIL, "errorMessage": message, **extra}


def _noop(task_id: str) -> dict:
    return _fail(task_id, condition="false")


def _loop(task_id: str, condition: str, **frequency) -> dict:
    return {
        "id": task_id,
        "type": LOOP,
        "condition": condition,
        "failOnMaxReached": True,
        "checkFrequency": {"interval": "PT0.01S", **frequency},
        "tasks": [_noop("step")],
    }


def _run(flow: dict, **inputs):
    return Kestra([flow], {"TOKEN": "s3cret"}).execute(flow, inputs)


def test_pebble_renders_like_kestra():
    ctx = {"outputs": {"t": {"body": '{"data": {"items": 2, "ok": true}}'}}}
    body = "fromJson(outputs.t.body).data"
    assert render_string("{{ " + body + ".items }}", ctx, {}) == "2"  # a key, not dict.items
    assert render_string("{{ " + body + ".ok and 1 == 1 }}", ctx, {}) == "true"
    assert render_string("{{ {'a': [1, 'b']} | toJson }}", ctx, {}) == '{"a":[1,"b"]}'
    assert render_string("{{ secret('TOKEN') }}", ctx, {"TOKEN": "x"}) == "x"
    for bad in ["{{ outputs.t.missing }}", "{{ outputs.t.body | upper }}", "{{ secret('NO') }}"]:
        with pytest.raises(PebbleError):
            render_string(bad, ctx, {})


def test_retry_delays_follow_kestra():
    now = time.monotonic()
    constant = {"type": "constant", "interval": "PT2S", "maxAttempts": 3}
    assert [retry_delay(constant, n, now) for n in (1, 2, 3)] == [2, 2, None]
    expo = {"type": "exponential", "interval": "PT10S", "maxInterval": "PT25S", "maxAttempts": 4}
    assert [retry_delay(expo, n, now) for n in (1, 2, 3, 4)] == [0, 20, 25, None]
    assert retry_delay({**constant, "maxDuration": "PT1S"}, 1, now) is None
    assert retry_delay(None, 1, now) is None


def test_a_failed_task_is_retried_from_the_start_until_max_attempts():
    retry = {"type": "constant", "interval": "PT0.01S", "maxAttempts": 3}
    execution = _run(_flow([_fail("boom", retry=retry)]))
    assert execution.state == "FAILED"
    assert execution.attempts["boom"] == 3
    assert "boom" not in execution.outputs  # a failed task has no outputs


def test_errors_branch_runs_every_task_and_sees_outputs_of_the_tasks_that_succeeded():
    flow = _flow(
        [_loop("count", "true"), _fail("boom"), _noop("never")],
        errors=[_fail("first", "after {{ outputs.count.iterationCount }}"), _fail("second")],
    )
    execution = _run(flow)
    assert execution.state == "FAILED"
    assert [t for t, _ in execution.failures] == ["boom", "first", "second"]
    assert ("first", "after 1") in execution.failures
    assert "never" not in execution.attempts


@pytest.mark.parametrize(
    ("frequency", "fail_on_max", "state", "iterations"),
    [
        ({"maxIterations": 3}, True, "FAILED", 3),
        ({"maxIterations": 3}, False, "SUCCESS", 3),
        ({"maxIterations": 10}, True, "SUCCESS", 5),
        ({"maxDuration": "PT0.05S", "maxIterations": 10**6}, True, "FAILED", None),
    ],
)
def test_loop_until_stops_on_its_condition_or_its_maximums(
    frequency, fail_on_max, state, iterations
):
    target = 5 if frequency["maxIterations"] < 100 else -1  # -1: never, the duration ends it
    loop = _loop("loop", f"{{{{ outputs.loop.iterationCount == {target} }}}}", **frequency)
    loop["failOnMaxReached"] = fail_on_max
    execution = _run(_flow([loop]))
    assert execution.state == state
    if iterations:
        assert execution.attempts["step"] == iterations
    if state == "FAILED":
        assert "Max" in execution.error and "reached" in execution.error


def test_a_rendered_condition_with_whitespace_is_true_as_in_kestra():
    """TruthUtils: only "false", "0", "-0" and "" are false; " false" is true."""
    execution = _run(_flow([_fail("gate", condition=" {{ 1 == 2 }}")]))
    assert execution.state == "FAILED"


@pytest.mark.parametrize(
    ("behavior", "second"), [("CANCEL", "CANCELLED"), ("FAIL", "FAILED"), ("QUEUE", "SUCCESS")]
)
def test_flow_concurrency(behavior, second):
    slow = _loop("slow", "false", maxIterations=30)
    slow["failOnMaxReached"] = False
    flow = _flow([slow], concurrency={"limit": 1, "behavior": behavior})
    kestra = Kestra([flow], {})
    results = {}
    first = threading.Thread(target=lambda: results.update(first=kestra.execute(flow)))
    first.start()
    while kestra.running("f") == 0:
        time.sleep(0.005)
    results["second"] = kestra.execute(flow)
    first.join()
    assert results["first"].state == "SUCCESS"
    assert results["second"].state == second
    if behavior == "QUEUE":
        assert results["second"].attempts["step"] == 30  # it ran, after the first


def test_a_failed_subflow_fails_the_calling_task():
    child = _flow(
        [_fail("boom", "child failed: {{ inputs.wait }}")],
        id="child",
        inputs=[{"id": "wait", "type": "DURATION"}],
    )
    call = {
        "id": "call",
        "type": "io.kestra.plugin.core.flow.Subflow",
        "namespace": "t",
        "flowId": "child",
        "inputs": {"wait": "PT1M"},
    }
    parent = _flow([call], id="parent")
    execution = Kestra([child, parent], {}).execute(parent)
    assert execution.state == "FAILED"
    (sub,) = execution.subflows
    assert ("boom", "child failed: PT1M") in sub.failures


@pytest.mark.parametrize(
    "flow",
    [
        _flow([{"id": "x", "type": "io.kestra.plugin.core.log.Log", "message": "m"}]),
        _flow([_fail("x", errorMesage="typo")]),
        _flow([_loop("x", "true") | {"retry": {"type": "constant", "interval": "PT1S"}}]),
        _flow([_fail("x")], pluginDefaults=[{"type": FAIL, "values": {"errorMessage": "d"}}]),
        _flow([_fail("x", retry={"type": "random", "minInterval": "PT1S"})]),
        _flow([_noop("x")], afterExecution=[]),
    ],
    ids=[
        "unknown-type",
        "unknown-property",
        "retry-on-flowable",
        "default-clash",
        "retry-type",
        "flow-key",
    ],
)
def test_what_is_not_emulated_is_refused(flow):
    with pytest.raises(NotEmulated):
        _run(flow)
