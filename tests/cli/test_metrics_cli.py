"""``adw metrics list|query`` as a user types them, on a real built warehouse (PostgreSQL ->
replicator -> DuckDB -> dbt build, web events landed): the metrics and their dimensions, a
query's rows equal to the rpt_* marts (exactly in the CSV, to the cent in the table), errors
in one line that keep MetricFlow's suggestions, and a build holding the warehouse waited for.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

import duckdb
import pytest

from adw_assets.lib.events import burst
from adw_assets.lib.source.seed import seed_database
from adw_assets.settings import get_settings
from tests.dbt.dbt_chain import Chain, module_database, quiet, settings_for

pytestmark = pytest.mark.slow
ADW = Path(sys.executable).with_name("adw")
CATEGORY = "product__category_name"


@pytest.fixture(scope="module")
def chain(pg_cluster, tmp_path_factory) -> Iterator[Chain]:
    home = tmp_path_factory.mktemp("metrics-cli")
    with module_database(pg_cluster) as dsn, pytest.MonkeyPatch.context() as mp:
        seed_database(dsn, scale=0.02, seed=5, progress=quiet)
        mp.setenv("ADW_HOME", str(home))  # the events land in this home
        get_settings.cache_clear()
        chain = Chain(dsn, settings_for(home), home / "target")
        burst(n_events=500, seed=5)
        chain.replicate()
        chain.dbt("build")
        yield chain
    get_settings.cache_clear()


def adw(home: Path, *args: str, ok: bool = True) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADW_")}
    env.update(ADW_HOME=str(home), DO_NOT_TRACK="1", DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    done = subprocess.run([str(ADW), *args], env=env, capture_output=True, text=True, timeout=300)
    if ok:
        assert done.returncode == 0, done.stderr[-3000:]
    return done


def table(stdout: str) -> list[list[str]]:
    """The rows of a table ``adw`` printed (header and dashes dropped), cells split on 2+
    spaces."""
    lines = [line for line in stdout.splitlines() if line.strip()]
    return [re.split(r"\s{2,}", line.strip()) for line in lines[2:]]


def cent(value) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


def one_line_error(done: subprocess.CompletedProcess) -> str:
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    lines = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, done.stderr
    return lines[0]


def test_list_names_every_metric_with_its_type_and_dimensions(chain):
    home = chain.settings.home
    listed = json.loads(adw(home, "metrics", "list", "--json").stdout)
    by_name = {m["name"]: m for m in listed}
    manifest = json.loads((home / "dbt/semantic/local/semantic_manifest.json").read_text())
    assert set(by_name) == {m["name"] for m in manifest["metrics"]}
    assert by_name["revenue"]["type"] == "simple"
    assert by_name["avg_order_value"]["type"] == "ratio"
    assert CATEGORY in by_name["revenue"]["dimensions"]
    assert "metric_time" in by_name["revenue"]["dimensions"]
    assert "web_event__device_type" in by_name["sessions"]["dimensions"]
    text = adw(home, "metrics", "list").stdout
    rows = {row[0]: row for row in table(text.split("\n\ndimensions")[0])}
    assert set(rows) == set(by_name)
    assert rows["revenue"][1] == "simple"
    assert "product__{category_name" in text  # the dimension sets, below the table


def test_query_by_category_ordered_and_limited_equals_the_mart(chain):
    done = adw(chain.settings.home, "metrics", "query", "--metrics", "revenue,units_sold",
               "--group-by", CATEGORY, "--order", "-revenue", "--limit", "2")  # fmt: skip
    rows = table(done.stdout)
    mart = chain.duck(
        "select category_name, sum(revenue), sum(units_sold) "
        "from marts.rpt_sales_by_product_category group by 1 order by 2 desc limit 2"
    )
    assert [(r[0], cent(r[1]), int(r[2])) for r in rows] == [
        (name, cent(revenue), units) for name, revenue, units in mart
    ]
    assert "2 rows" in done.stderr


def test_query_with_where_keeps_only_the_filtered_rows(chain):
    where = "{{ Dimension('product__category_name') }} = 'Bikes'"
    done = adw(chain.settings.home, "metrics", "query", "--metrics", "revenue",
               "--group-by", f"{CATEGORY},product__subcategory_name", "--where", where)  # fmt: skip
    rows = table(done.stdout)
    mart = chain.duck(
        "select subcategory_name, revenue from marts.rpt_sales_by_product_category "
        "where category_name = 'Bikes'"
    )
    assert rows and {r[0] for r in rows} == {"Bikes"}
    assert {(r[1], cent(r[2])) for r in rows} == {(s, cent(v)) for s, v in mart}


def test_csv_holds_the_exact_values_of_the_mart(chain, tmp_path):
    out = tmp_path / "status.csv"
    done = adw(chain.settings.home, "metrics", "query", "--metrics", "orders,total_due",
               "--group-by", "order_status__status_code", "--csv", str(out))  # fmt: skip
    assert done.stdout == ""
    with out.open() as f:
        got = {int(r["order_status__status_code"]): r for r in csv.DictReader(f)}
    mart = chain.duck("select status_code, order_count, total_due from marts.rpt_order_status")
    expected = {code: (count, total) for code, count, total in mart if count}
    assert set(got) == set(expected)
    for code, (count, total) in expected.items():
        assert int(got[code]["orders"]) == count
        assert Decimal(got[code]["total_due"]) == total  # exact, every decimal place


def test_monthly_customer_metrics_equal_the_acquisition_mart_to_the_cent(chain):
    done = adw(chain.settings.home, "metrics", "query", "--metrics",
               "new_customers,active_customers,revenue", "--group-by", "metric_time__month",
               "--order", "metric_time__month")  # fmt: skip
    rows = table(done.stdout)
    mart = {
        str(month): (new, active, cent(revenue))
        for month, new, active, revenue in chain.duck(
            "select month_start, new_customers, active_customers, revenue "
            "from marts.rpt_customer_acquisition"
        )
    }
    assert len(rows) > 12
    assert [r[0][:10] for r in rows] == sorted(r[0][:10] for r in rows)
    for month, new, active, revenue in rows:
        assert mart[month[:10]] == (int(new), int(active), cent(revenue)), month


def test_explain_prints_the_sql_that_gives_the_rows(chain):
    home = chain.settings.home
    args = ["metrics", "query", "--metrics", "total_due", "--group-by",
            "ship_to_address__country_name"]  # fmt: skip
    sql = adw(home, *args, "--explain").stdout
    assert '"marts"."fct_orders"' in sql
    direct = chain.duck(sql)
    shown = {r[0]: cent(r[1]) for r in table(adw(home, *args).stdout)}
    assert shown == {country: cent(total) for country, total in direct}


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--metrics", "revnue"], ["revnue", "Did you mean: revenue"]),
        (["--metrics", "revenue", "--group-by", "product__categry_name"],
         ["product__categry_name", "Did you mean: product__category_name"]),
        (["--metrics", "revenue", "--where", "{{ Dimension('product__category_name') = 'x'"],
         ["Error parsing where filter", "expected token"]),
        (["--metrics", "revenue", "--where", "{{ Dimension('product__category_name') }} = = 1"],
         ["the warehouse refused the query", "--explain"]),
        (["--metrics", "revenue", "--csv", "/nonexistent-folder/x.csv"],
         ["cannot write --csv /nonexistent-folder/x.csv", "writable"]),
    ],
    ids=["unknown-metric", "unknown-dimension", "where-not-parsed", "where-refused", "csv"],
)  # fmt: skip
def test_bad_input_is_one_line_with_what_to_do(chain, args, expected):
    line = one_line_error(adw(chain.settings.home, "metrics", "query", *args, ok=False))
    for part in expected:
        assert part in line, line


def test_no_warehouse_yet_says_to_run_adw_up(tmp_path):
    line = one_line_error(adw(tmp_path / "empty", "metrics", "list", ok=False))
    assert "no warehouse" in line and "adw up" in line


def test_a_writer_holding_the_warehouse_is_waited_for_then_reported(chain):
    home = chain.settings.home
    args = ["metrics", "query", "--metrics", "orders"]
    writer = duckdb.connect(str(chain.duckdb_path))  # what a build holds
    try:
        start = time.monotonic()
        done = adw(home, *args, "--wait", "1", ok=False)
        line = one_line_error(done)
        assert "waiting up to 1 s" in done.stderr
        assert "locked by another process" in line and "Wait for the other" in line
        assert time.monotonic() - start < 60
        # released while a query waits (once it says so): the query then answers
        env = {k: v for k, v in os.environ.items() if not k.startswith("ADW_")}
        env.update(ADW_HOME=str(home), DO_NOT_TRACK="1", DBT_SEND_ANONYMOUS_USAGE_STATS="false")
        proc = subprocess.Popen([str(ADW), *args, "--wait", "60"], env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)  # fmt: skip
        waiting = ""
        while "waiting up to" not in waiting and (line := proc.stderr.readline()):
            waiting += line
        writer.close()
        stdout, stderr = proc.communicate(timeout=300)
    finally:
        writer.close()
    assert "waiting up to 60 s" in waiting, waiting + stderr
    assert proc.returncode == 0, stderr
    done = subprocess.CompletedProcess(proc.args, proc.returncode, stdout, waiting + stderr)
    [(orders,)] = chain.duck("select count(*) from marts.fct_orders")
    assert table(done.stdout) == [[str(orders)]]
