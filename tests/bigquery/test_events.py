"""Web events streamed into BigQuery (the emulator) by insertAll, and their Dagster sensor and
check reading the table's metadata."""

from __future__ import annotations

import json
import time

import dagster as dg
import pytest

from adw_assets.lib.events.bigquery_sink import TABLE, InsertStats, insert_rows
from adw_assets.lib.events.config import events_config
from adw_assets.lib.events.generator import EventGenerator
from adw_assets.lib.events.sources import FileSource
from adw_assets.lib.events.stream import run_stream
from adw_assets.lib.warehouse import bigquery as bq

pytestmark = pytest.mark.bigquery


def spool(path, count: int, bad_lines: int = 0) -> list[str]:
    now = time.time()
    events = EventGenerator(9, stream="bq-sink").emit(0, count, now - 3 * 3600, now - 30)
    lines = [json.dumps(e) for e in events] + ["{not json"] * bad_lines
    path.write_text("\n".join(lines) + "\n")
    return [e["event_id"] for e in events]


def test_accepted_events_are_streamed_to_the_partitioned_table(bq_client, tmp_path):
    ids = spool(tmp_path / "events.jsonl", 1200, bad_lines=2)
    stats = run_stream(FileSource(tmp_path / "events.jsonl"), progress=None)
    assert (stats.accepted, stats.rejected) == (1200, 2)

    table = bq.table_ref(bq_client.project, "raw_web", TABLE)
    rows = bq.run(bq_client, f"select event_id, event_date, date(timestamp) from {table}")
    assert sorted(r[0] for r in rows) == sorted(ids)
    assert all(r[1] == r[2] for r in rows)  # event_date = UTC date of the timestamp
    facts = bq.table_facts(bq_client, "raw_web", TABLE)
    assert facts.partitioning == "event_date" and facts.clustering == ("event_id",)
    cfg = events_config()  # dead letters stay local, as with DuckDB; no Parquet landed
    assert len(list(cfg.dead_letter_dir.glob("*/*.jsonl"))) == 1
    assert not list(cfg.landing_dir.glob("*/*.parquet"))


def test_insert_requests_carry_at_most_500_rows(bq_client, tmp_path):
    from adw_assets.lib.events.bigquery_sink import ensure_table, to_rows
    from adw_assets.lib.events.validate import Validator

    ensure_table(bq_client, "raw_web", "US")
    spool(tmp_path / "events.jsonl", 1001)
    payloads = (tmp_path / "events.jsonl").read_text().splitlines()
    validated = Validator(24 * 3600, 300).validate(payloads, now=time.time())
    stats = InsertStats()
    insert_rows(bq_client, "raw_web", to_rows(validated, time.time(), "test:0"), stats)
    assert (stats.rows, stats.requests) == (1001, 3)


def test_sensor_and_dead_letter_check_read_the_table_metadata(bq_client, tmp_path):
    """The same sensor and check as with DuckDB, given the BigQuery warehouse resource."""
    from tests.support.dagster import definitions, materialize

    defs = definitions()
    sensor = defs.resolve_sensor_def("web_events_landed_sensor")

    def tick(cursor=None):
        context = dg.build_sensor_context(cursor=cursor, resources=defs.resources)
        return sensor(context)

    empty = tick()
    assert not empty.run_requests and "no new web events" in empty.skip_reason.skip_message

    spool(tmp_path / "events.jsonl", 300, bad_lines=3)
    run_stream(FileSource(tmp_path / "events.jsonl"), progress=None)
    first = tick()
    assert len(first.run_requests) == 1 and sensor.job_name == "web_events_job"
    (event,) = first.asset_events
    assert event.asset_key == dg.AssetKey(["web", "events"])
    assert event.metadata["events"].value == 300
    assert not tick(first.cursor).run_requests  # the table did not change since

    evaluations = materialize(
        checks_of=[dg.AssetKey(["web", "events"])], defs=defs
    ).get_asset_check_evaluations()
    [check] = [e for e in evaluations if e.check_name == "dead_letter_ratio_below_threshold"]
    assert check.passed and check.metadata["accepted_events"].value == 300
    assert check.metadata["dead_letters"].value == 3


def test_adw_events_status_counts_the_events_in_the_table(bq_client, tmp_path, capsys):
    """`adw events status` on BigQuery: the table's events (metadata, no query) and the local
    dead letters; the landing zone, empty here, is not what it reports."""
    from adw_assets.cli import main

    spool(tmp_path / "events.jsonl", 200, bad_lines=2)
    run_stream(FileSource(tmp_path / "events.jsonl"), progress=None)
    main(["events", "status", "--json"])  # returns: exit 0 (an error would raise SystemExit)
    status = json.loads(capsys.readouterr().out)
    assert status["store"] == f"BigQuery table {bq_client.project}.raw_web.{TABLE}"
    assert (status["events"], status["dead_letters"], status["files"]) == (200, 2, 0)
    assert status["dead_letter_ratio"] == round(2 / 202, 6)
