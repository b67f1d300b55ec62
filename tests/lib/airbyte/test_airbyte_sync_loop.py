"""The sync-and-poll loop against the Airbyte API stand-in, outside Dagster."""

from __future__ import annotations

import logging
import re

import pytest

from adw_assets.lib.airbyte import sync
from adw_assets.lib.airbyte.api import AirbyteError, make_client, recent_jobs
from adw_assets.lib.airbyte.config import airbyte_config
from adw_assets.lib.airbyte.sync import failure_reasons, sync_and_poll
from adw_assets.settings import get_settings
from tests.support.airbyte_api import AirbyteStandIn, JobOutcome


@pytest.fixture
def airbyte(source_db, monkeypatch, tmp_path):
    with AirbyteStandIn(source_db, tmp_path / "w.duckdb") as stand_in:
        for name, value in stand_in.env().items():
            monkeypatch.setenv(name, value)
        get_settings.cache_clear()
        yield stand_in


def test_a_job_past_the_poll_timeout_is_cancelled_in_airbyte(airbyte, monkeypatch):
    airbyte.outcomes.append(JobOutcome(seconds=30))
    monkeypatch.setenv("ADW_AIRBYTE_POLL_TIMEOUT", "0.5")
    get_settings.cache_clear()
    cfg = airbyte_config()

    with pytest.raises(AirbyteError, match=r"did not finish within [01] s"):
        sync_and_poll(make_client(cfg), cfg.connection_id)

    assert airbyte.jobs[1].status == "cancelled"
    assert ("DELETE", "/api/public/v1/jobs/1", 200) in airbyte.requests


def test_a_running_job_is_not_started_twice(airbyte):
    airbyte.outcomes.append(JobOutcome(seconds=30))
    cfg = airbyte_config()
    client = make_client(cfg)
    client.start_sync_job(cfg.connection_id)

    with pytest.raises(AirbyteError, match=r"Airbyte job 1 of connection .* is already running"):
        sync_and_poll(client, cfg.connection_id)
    client.cancel_job(1)


def test_the_last_attempts_failures_are_the_reasons():
    attempts = [
        {"attempt": {"failureSummary": {"failures": [{"externalMessage": "first try"}]}}},
        {
            "attempt": {
                "failureSummary": {
                    "failures": [
                        {
                            "failureOrigin": "destination",
                            "failureType": "system_error",
                            "externalMessage": "disk full",
                        },
                        {"internalMessage": "java.io.IOException"},
                    ]
                }
            }
        },
    ]

    assert failure_reasons(attempts) == [
        "destination system_error: disk full",
        "java.io.IOException",
    ]
    assert failure_reasons([]) == []


def test_a_long_sync_logs_its_progress_and_ends_with_the_streams_stats(airbyte, monkeypatch):
    monkeypatch.setattr(sync, "PROGRESS_EVERY_SECONDS", 0.3)
    airbyte.outcomes.append(JobOutcome(seconds=1.5))
    cfg = airbyte_config()
    log = logging.getLogger("test.airbyte.progress")
    lines: list[str] = []
    handler = logging.Handler()
    handler.emit = lambda record: lines.append(record.getMessage())
    log.addHandler(handler)
    log.setLevel(logging.INFO)

    result = sync_and_poll(make_client(cfg), cfg.connection_id, log=log)

    assert result.job_id == 1 and result.job["status"] == "succeeded"
    assert any(re.fullmatch(r"Airbyte job 1 running: \d+ rows after \d+ s", x) for x in lines)
    assert lines[-1].startswith("Airbyte job 1 succeeded in ")
    assert "recordsCommitted" in result.stream_stats("salesorderheader")


def test_airbyte_down_while_listing_jobs_says_what_to_check(airbyte):
    cfg = airbyte_config()
    client = make_client(cfg)
    airbyte.stop()

    with pytest.raises(AirbyteError, match=r"Airbyte did not answer .* the jobs of connection"):
        recent_jobs(client, cfg.connection_id)
