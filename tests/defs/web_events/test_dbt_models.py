"""The dbt web models on a real chain. The tests share one warehouse and landing zone and run
in file order: empty zone, first events (with repeated deliveries), late events, concurrency."""

from __future__ import annotations

import json
import shutil
import signal
import subprocess
import sys
import time
import warnings
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import dagster as dg
import duckdb
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

from adw_assets.lib.events import burst
from adw_assets.lib.events.config import events_config
from adw_assets.lib.events.generator import EventGenerator
from adw_assets.lib.events.reference import load_reference
from adw_assets.lib.events.sources import FileSource
from adw_assets.lib.events.stream import run_stream

pytestmark = pytest.mark.slow

WEB_MODELS = ("stg_web__events+",)


def _landing(query: str) -> list[tuple]:
    """``query`` over the landing zone as relation ``landing`` (every delivered copy)."""
    with duckdb.connect() as con:
        glob = events_config().landing_glob
        con.execute(
            f"create view landing as select * from read_parquet('{glob}', hive_partitioning = true)"
        )
        return con.execute(query).fetchall()


def _build(web) -> dict:
    results = web.dbt("build", "-s", *WEB_MODELS)
    ok = ("success", "pass", "no-op")  # no-op: the dashboard exposure
    failed = {k: r["status"] for k, r in results.items() if r["status"] not in ok}
    assert not failed, failed
    return results


def test_models_build_before_any_event_landed(web):
    assert not events_config().landing_dir.exists()
    _build(web)
    assert web.duck("select count(*) from staging.stg_web__events") == [(0,)]
    assert web.duck("select count(*) from marts.fct_web_events") == [(0,)]
    rows = web.duck("select sessions, sales_order_count from marts.rpt_web_traffic_by_country")
    assert rows and all(sessions == 0 and orders > 0 for sessions, orders in rows)


def test_models_deduplicate_repeated_deliveries_and_match_the_events(web):
    burst(n_events=4000, seed=1)
    originals = sorted(events_config().landing_dir.glob("*/*.parquet"))
    # repeated deliveries that got past the streamer: the same file under another batch name,
    # and a copy of some events delivered with another timestamp (another event_date)
    first = originals[0]
    shutil.copy(first, first.with_name("part-redelivery-000000000000.parquet"))
    table = pq.read_table(first).slice(0, 50)
    moved = table.set_column(1, "timestamp", pc.subtract(table["timestamp"], timedelta(days=1)))
    day = moved["timestamp"][0].as_py().date()
    other = events_config().landing_dir / f"event_date={day}"
    other.mkdir(exist_ok=True)
    pq.write_table(moved, other / "part-redelivery-000000000001.parquet")

    results = _build(web)
    assert any(k.startswith("test.adw.unique_fct_web_events_event_id") for k in results)
    [(delivered, distinct, per_day)] = _landing(
        "select count(*), count(distinct event_id), count(distinct (event_date, event_id)) "
        "from landing"
    )
    assert delivered == distinct + table.num_rows + pq.read_metadata(first).num_rows
    assert web.duck("select count(*), count(distinct event_id) from marts.fct_web_events") == [
        (distinct, distinct)
    ]
    assert web.duck("select count(*) from staging.stg_web__events") == [(per_day,)]

    # web figures by country = the events as generated (before any redelivery)
    expected = {}
    for path in originals:
        for e in pq.read_table(path).to_pylist():
            c = expected.setdefault(e["country"], [set(), 0, 0, Decimal(0)])
            c[0].add(e["session_id"])
            c[1] += 1
            c[2] += e["order_value"] > 0
            c[3] += Decimal(str(e["order_value"]))
    got = web.duck(
        "select country_name, sessions, page_views, web_orders, web_order_value, "
        "sales_order_count, sales_total_due from marts.rpt_web_traffic_by_country"
    )
    web_rows = {r[0]: r[1:5] for r in got if r[1] > 0}
    assert web_rows == {k: (len(v[0]), v[1], v[2], v[3]) for k, v in expected.items()}
    # sales figures = orders by ship-to country, computed on the source
    sales = web.pg(
        "select cr.name, count(*), sum(h.totaldue) from sales.salesorderheader h "
        "join person.address a on a.addressid = h.shiptoaddressid "
        "join person.stateprovince sp on sp.stateprovinceid = a.stateprovinceid "
        "join person.countryregion cr on cr.countryregioncode = sp.countryregioncode group by 1"
    )
    assert {r[0]: (r[5], r[6]) for r in got if r[5] > 0} == {r[0]: (r[1], r[2]) for r in sales}
    # signed-in visitors are real customers (the relationships test passes, not just warns)
    assert web.duck(
        "select count(*) from marts.fct_web_events f left join marts.dim_customers c "
        "using (customer_id) where f.customer_id is not null and c.customer_id is null"
    ) == [(0,)]
    assert web.duck("select count(customer_id) from marts.fct_web_events")[0][0] > 0


def test_no_raw_ip_address_past_staging(web):
    ips = {r[0] for r in _landing("select distinct ip_address from landing")}
    assert ips
    for relation in ("staging.stg_web__events", "marts.fct_web_events"):
        columns = web.duck(
            "select column_name from information_schema.columns where table_schema || '.' || "
            f"table_name = '{relation}' and data_type = 'VARCHAR'"
        )
        for (column,) in columns:
            values = {r[0] for r in web.duck(f"select distinct {column} from {relation}")}
            assert not values & ips, f"{relation}.{column} holds raw IP addresses"


def test_incremental_build_puts_late_events_in_their_day(web, tmp_path):
    [(before,)] = web.duck("select count(*) from marts.fct_web_events")
    noon = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0)
    yesterday_noon = noon - timedelta(days=1)
    late = EventGenerator(77, load_reference(web.settings), stream="late").emit(
        0, 500, yesterday_noon.timestamp(), yesterday_noon.timestamp() + 600
    )
    spool = tmp_path / "late.jsonl"
    spool.write_text("".join(json.dumps(e) + "\n" for e in late))
    stats = run_stream(FileSource(spool), progress=None)
    assert stats.accepted == 500
    burst(n_events=1000, seed=1)  # and new events of today

    web.dbt("run", "-s", "fct_web_events")  # incremental
    [(after, distinct)] = web.duck(
        "select count(*), count(distinct event_id) from marts.fct_web_events"
    )
    [(landed,)] = _landing("select count(distinct event_id) from landing")
    assert after == distinct == landed == before + 1500
    late_ids = tuple(e["event_id"] for e in late)
    days = web.duck(
        f"select distinct event_date from marts.fct_web_events where event_id in {late_ids}"
    )
    assert days == [(yesterday_noon.date(),)]
    daily = web.dbt("build", "-s", "rpt_web_traffic_daily")
    assert all(r["status"] in ("success", "pass") for r in daily.values())
    assert (
        web.duck(
            "select sum(page_views) from marts.rpt_web_traffic_daily where event_date = "
            f"date '{yesterday_noon.date()}'"
        )[0][0]
        >= 500
    )


ADW = Path(sys.executable).parent / "adw"


@pytest.mark.skipif(not ADW.exists(), reason=f"the adw command is not installed at {ADW}")
def test_dbt_build_and_warehouse_readers_never_fail_while_the_stream_writes(web):
    stream = subprocess.Popen(
        [str(ADW), "events", "stream", "--rate", "2000", "--seed", "41", "-q"],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        for line in stream.stderr:
            if line.startswith("streaming"):
                break
        time.sleep(1.5)
        _build(web)  # writes the warehouse while batches land
        counts = []
        for _ in range(2):  # and readers of the warehouse, the stream still writing
            with duckdb.connect(str(web.duckdb_path), read_only=True) as con:
                view = "select count(*) from staging.stg_web__events"
                counts.append(con.execute(view).fetchone()[0])
                con.execute("select count(*) from marts.rpt_web_traffic_daily").fetchone()
            time.sleep(1.5)
        assert counts[0] < counts[1]  # the view sees new batches without a rebuild
    finally:
        stream.send_signal(signal.SIGINT)
        _, err = stream.communicate(timeout=60)
    assert stream.returncode == 0, err
    assert "accepted" in err


def test_the_sensor_run_refreshes_the_web_models_through_dagster(web):
    from tests.support.dagster import definitions

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        defs = definitions()  # resources (the warehouse's path) from this ADW_HOME

    burst(n_events=700, seed=8)
    [(landed,)] = _landing("select count(distinct event_id) from landing")
    sensor = defs.resolve_sensor_def("web_events_landed_sensor")
    job = defs.resolve_job_def(sensor.job_name)  # exactly what the sensor's run requests run
    result = job.execute_in_process(instance=dg.DagsterInstance.ephemeral())
    assert result.success
    checks = {
        e.event_specific_data.asset_check_key.name: e.event_specific_data.passed
        for e in result.all_events
        if e.event_type_value == "ASSET_CHECK_EVALUATION"
    }
    assert checks["unique_fct_web_events_event_id"] is True
    assert checks["dead_letter_ratio_below_threshold"] is True
    # every check of the web models passed (the dashboard's own check needs marts this chain
    # does not build)
    web_checks = {name: ok for name, ok in checks.items() if "web" in name}
    assert len(web_checks) >= 15 and all(web_checks.values()), web_checks
    assert web.duck("select count(*) from marts.fct_web_events") == [(landed,)]
