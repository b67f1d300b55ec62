"""The web-event Dagster definitions: the landing-zone asset, the lineage to the dbt models,
the freshness policy, the checks and the new-batch sensor."""

from __future__ import annotations

import time
import warnings
from datetime import timedelta

import dagster as dg
import pytest

from adw_assets.defs.web_events.assets import WEB_EVENTS_KEY, web_events_spec
from adw_assets.defs.web_events.checks import DEAD_LETTER_CHECK
from adw_assets.lib.events import burst
from adw_assets.lib.events.generator import EventGenerator
from adw_assets.lib.events.sources import GeneratorSource
from adw_assets.lib.events.stream import run_stream
from adw_assets.settings import get_settings
from tests.support.dagster import definitions, materialize

WEB_MODELS = {
    dg.AssetKey(["staging", "stg_web__events"]),
    dg.AssetKey(["marts", "fct_web_events"]),
    dg.AssetKey(["marts", "rpt_web_traffic_daily"]),
    dg.AssetKey(["marts", "rpt_web_traffic_by_country"]),
    dg.AssetKey(["marts", "rpt_web_traffic_order_value_correlation"]),
}


@pytest.fixture
def defs() -> dg.Definitions:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return definitions()


def test_landing_zone_asset_feeds_the_dbt_web_models(defs):
    graph = defs.resolve_asset_graph()
    node = graph.get(WEB_EVENTS_KEY)
    assert node.group_name == "web_events"
    assert not node.is_materializable  # written by `adw events stream`, outside Dagster
    stg = graph.get(dg.AssetKey(["staging", "stg_web__events"]))
    assert WEB_EVENTS_KEY in stg.parent_keys  # the dbt source web.events resolves here
    fct = graph.get(dg.AssetKey(["marts", "fct_web_events"]))
    assert dg.AssetKey(["staging", "stg_web__events"]) in fct.parent_keys
    by_country = graph.get(dg.AssetKey(["marts", "rpt_web_traffic_by_country"]))
    assert dg.AssetKey(["marts", "fct_orders"]) in by_country.parent_keys
    checks = {c.to_user_string() for c in graph.asset_check_keys}
    assert "web/events:dead_letter_ratio_below_threshold" in checks
    assert "marts/fct_web_events:unique_fct_web_events_event_id" in checks


def test_dbt_web_models_are_in_the_web_events_group(defs):
    graph = defs.resolve_asset_graph()
    assert {graph.get(key).group_name for key in WEB_MODELS} == {"web_events"}


def test_freshness_policy_fails_after_the_configured_quiet_time(monkeypatch):
    policy = web_events_spec().freshness_policy
    assert policy.fail_window.to_timedelta() == timedelta(minutes=60)
    monkeypatch.setenv("ADW_EVENTS_FRESHNESS_MINUTES", "5")
    get_settings.cache_clear()
    policy = web_events_spec().freshness_policy
    assert policy.fail_window.to_timedelta() == timedelta(minutes=5)
    assert policy.warn_window.to_timedelta() == timedelta(minutes=2.5)


def test_sensor_runs_the_web_events_job_when_a_new_batch_lands(defs):
    instance = dg.DagsterInstance.ephemeral()
    sensor = defs.resolve_sensor_def("web_events_landed_sensor")

    def tick(cursor):
        context = dg.build_sensor_context(
            instance=instance, cursor=cursor, definitions=defs, resources=defs.resources
        )
        return sensor(context)

    assert sensor.minimum_interval_seconds <= 30
    result = tick(None)
    assert not result.run_requests and "no new web events" in str(result.skip_reason)

    burst(n_events=300, seed=2)
    result = tick(None)
    [request] = result.run_requests
    assert sensor.job_name == "web_events_job" and not request.tags
    [event] = result.asset_events
    assert event.asset_key == WEB_EVENTS_KEY and event.metadata["events"].value == 300
    cursor = result.cursor

    assert not tick(cursor).run_requests  # nothing new since: no run

    time.sleep(0.02)
    burst(n_events=100, seed=2)
    result = tick(cursor)
    assert len(result.run_requests) == 1 and result.cursor > cursor
    assert result.run_requests[0].run_key != request.run_key
    # the run refreshes exactly what is built from the landing zone (and the dashboard)
    selected = set(defs.resolve_job_def("web_events_job").asset_layer.executable_asset_keys)
    assert selected >= WEB_MODELS
    assert dg.AssetKey(["marts", "fct_orders"]) not in selected
    assert WEB_EVENTS_KEY not in selected


def _dead_letter_check() -> dg.AssetCheckEvaluation:
    evaluations = materialize(checks_of=[WEB_EVENTS_KEY]).get_asset_check_evaluations()
    [evaluation] = [e for e in evaluations if e.check_name == DEAD_LETTER_CHECK]
    return evaluation


def test_dead_letter_ratio_check_fails_above_the_threshold():
    burst(n_events=1000, seed=4)
    result = _dead_letter_check()
    assert result.passed and result.metadata["dead_letters"].value == 0
    run_stream(GeneratorSource(EventGenerator(4, bad_ratio=0.5), rate=0, limit=1000), progress=None)
    result = _dead_letter_check()
    assert not result.passed
    assert 0.15 < result.metadata["dead_letter_ratio"].value < 0.3
    assert result.metadata["threshold"].value == 0.05
