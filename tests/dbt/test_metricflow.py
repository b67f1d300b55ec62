"""The semantic layer (MetricFlow) against the marts: every metric, queried through MetricFlow
at the grain of an rpt_* mart, equals the mart to the cent, on synthetic and on the real
AdventureWorks data, after a full build and after an incremental one; `mf validate-configs`
passes on the built warehouse.

The chain is real (PostgreSQL -> replicator -> DuckDB -> dbt build, web events landed); the
metric SQL is MetricFlow's (``engine.explain``), run on the warehouse read-only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from datetime import date, datetime
from decimal import Decimal

import pytest

from adw_assets.lib.dbt import bin_dir, dbt_env, project_dir
from adw_assets.lib.events import burst
from adw_assets.lib.metrics import SemanticLayer, cents
from adw_assets.lib.source.load import load_directory
from adw_assets.lib.source.seed import seed_database
from adw_assets.lib.source.simulate import simulate
from adw_assets.settings import get_settings
from tests.dbt.dbt_chain import Chain, module_database, quiet, settings_for

pytestmark = pytest.mark.slow

LOOKBACK_HOURS = "48"
AVERAGE_TOLERANCE = Decimal("0.0001")
"""The marts round their averages to 4 decimals; MetricFlow's ratios are exact doubles."""


@pytest.fixture(
    scope="module",
    params=["synthetic", pytest.param("real", marks=pytest.mark.realdata)],
)
def chain(request, pg_cluster, tmp_path_factory) -> Iterator[Chain]:
    home = tmp_path_factory.mktemp(f"metricflow-{request.param}")
    with module_database(pg_cluster) as dsn, pytest.MonkeyPatch.context() as mp:
        if request.param == "real":
            load_directory(dsn, request.getfixturevalue("shared_adventureworks"), progress=quiet)
        else:
            seed_database(dsn, scale=0.05, seed=17, progress=quiet)
        # the landing zone of the web events is this chain's (events land in ADW_HOME)
        mp.setenv("ADW_HOME", str(home))
        mp.setenv("ADW_EVENTS_LOOKBACK_HOURS", LOOKBACK_HOURS)
        get_settings.cache_clear()
        chain = Chain(
            dsn, settings_for(home, ADW_EVENTS_LOOKBACK_HOURS=LOOKBACK_HOURS), home / "target"
        )
        burst(n_events=3000, seed=17)
        chain.replicate()
        chain.dbt("build")
        yield chain
    get_settings.cache_clear()


@pytest.fixture
def semantic(chain) -> SemanticLayer:
    return SemanticLayer.load(chain.target, chain.duckdb_path)


def _mart(chain: Chain, mart: str, keys: list[str], columns: list[str]) -> dict[tuple, dict]:
    rows = chain.duck(f"select {', '.join(keys + columns)} from marts.{mart}")
    return {tuple(r[: len(keys)]): dict(zip(columns, r[len(keys) :], strict=True)) for r in rows}


def _day(value: datetime | date) -> date:
    return value.date() if isinstance(value, datetime) else value


def _ratio(numerator, denominator) -> Decimal | None:
    return None if not denominator else Decimal(numerator) / Decimal(denominator)


def _close(got, expected, tolerance: Decimal = AVERAGE_TOLERANCE) -> bool:
    if got is None or expected is None:
        return got is None and expected is None
    return abs(Decimal(str(got)) - Decimal(str(expected))) <= tolerance


def check_products(chain: Chain, semantic: SemanticLayer) -> None:
    keys = ["category_name", "subcategory_name"]
    mart = _mart(
        chain, "rpt_sales_by_product_category", keys,
        ["revenue", "units_sold", "order_count", "discount_amount"],
    )  # fmt: skip
    got = semantic.query(
        ["revenue", "units_sold", "product_orders", "discount_amount", "avg_unit_price"],
        ["product__category_name", "product__subcategory_name"],
    )
    assert len(mart) > 10
    assert set(got) == set(mart)
    for key, row in mart.items():
        metrics = got[key]
        assert cents(metrics["revenue"]) == cents(row["revenue"]), key
        assert metrics["units_sold"] == row["units_sold"], key
        assert metrics["product_orders"] == row["order_count"], key
        assert cents(metrics["discount_amount"]) == cents(row["discount_amount"]), key
        unit_price = _ratio(row["revenue"], row["units_sold"])
        assert cents(metrics["avg_unit_price"]) == cents(unit_price), key


def check_customers(chain: Chain, semantic: SemanticLayer) -> None:
    columns = ["new_customers", "active_customers", "orders", "revenue"]
    averages = ["avg_order_value", "avg_spend_per_customer"]
    mart = _mart(chain, "rpt_customer_acquisition", ["month_start"], columns + averages)
    got = {
        (_day(month),): metrics
        for (month,), metrics in semantic.query(columns + averages, ["metric_time__month"]).items()
    }
    assert len(mart) > 12
    assert set(got) <= set(mart)
    for key, row in mart.items():
        if key not in got:  # a month without orders: MetricFlow has no row, the mart zeros
            assert [row[c] for c in columns] == [0, 0, 0, 0], key
            assert [row[a] for a in averages] == [None, None], key
            continue
        metrics = got[key]
        for column in ("new_customers", "active_customers", "orders"):
            assert metrics[column] == row[column], (key, column)
        assert cents(metrics["revenue"]) == cents(row["revenue"]), key
        for average in averages:
            assert _close(metrics[average], row[average]), (key, average)


def check_order_status(chain: Chain, semantic: SemanticLayer) -> None:
    keys = ["status_code", "status_name"]
    mart = _mart(
        chain, "rpt_order_status", keys,
        ["order_count", "online_order_count", "total_due", "is_open"],
    )  # fmt: skip
    got = semantic.query(
        ["orders", "online_orders", "offline_orders", "total_due", "online_share"],
        ["order_status__status_code", "order_status__status_name"],
    )
    assert len(mart) == 6
    assert set(got) <= set(mart)
    for key, row in mart.items():
        metrics = got.get(key)
        if metrics is None:  # a status no order has: the mart's zero row
            assert (row["order_count"], row["total_due"]) == (0, 0), key
            continue
        assert metrics["orders"] == row["order_count"], key
        assert metrics["online_orders"] == row["online_order_count"], key
        assert metrics["offline_orders"] == row["order_count"] - row["online_order_count"], key
        assert cents(metrics["total_due"]) == cents(row["total_due"]), key
        share = _ratio(row["online_order_count"], row["order_count"])
        assert _close(metrics["online_share"], share, Decimal("1e-12")), key
    # the backlog: the open statuses (dim_order_statuses.is_open)
    [backlog] = semantic.query(["open_orders", "open_total_due"]).values()
    open_rows = [row for row in mart.values() if row["is_open"]]
    assert backlog["open_orders"] == sum(row["order_count"] for row in open_rows)
    assert cents(backlog["open_total_due"]) == cents(sum(row["total_due"] for row in open_rows))


def check_geography(chain: Chain, semantic: SemanticLayer) -> None:
    keys = ["country_name", "state_province_name", "city"]
    mart = _mart(
        chain, "rpt_sales_by_geography", keys, ["order_count", "customer_count", "total_due"]
    )
    got = semantic.query(
        ["orders", "active_customers", "total_due"],
        [f"ship_to_address__{key}" for key in keys],
    )
    assert len(mart) > 50
    assert set(got) == set(mart)
    for key, row in mart.items():
        metrics = got[key]
        assert metrics["orders"] == row["order_count"], key
        assert metrics["active_customers"] == row["customer_count"], key
        assert cents(metrics["total_due"]) == cents(row["total_due"]), key


def check_web_by_country(chain: Chain, semantic: SemanticLayer) -> None:
    web = ["sessions", "page_views", "web_orders", "web_order_value"]
    sales = {"sales_order_count": "orders", "sales_total_due": "total_due"}
    mart = _mart(
        chain, "rpt_web_traffic_by_country", ["country_name"],
        [*web, "avg_duration_seconds", *sales],
    )  # fmt: skip
    got_web = semantic.query([*web, "avg_duration_seconds"], ["web_event__country_name"])
    got_sales = semantic.query(list(sales.values()), ["ship_to_address__country_name"])
    assert got_web and got_sales
    # the mart is the full outer join of web traffic and sales by country
    assert set(mart) == set(got_web) | set(got_sales)
    for key, row in mart.items():
        metrics = got_web.get(key, {})
        for column in web:
            assert cents(metrics.get(column, 0)) == cents(row[column]), (key, column)
        assert _close(metrics.get("avg_duration_seconds"), row["avg_duration_seconds"]), key
        for column, metric in sales.items():
            assert cents(got_sales.get(key, {}).get(metric, 0)) == cents(row[column]), key


def check_web_daily(chain: Chain, semantic: SemanticLayer) -> None:
    columns = ["sessions", "page_views", "web_orders", "web_order_value"]
    mart = _mart(chain, "rpt_web_traffic_daily", ["event_date", "country_name"], columns)
    got = {
        (_day(day), country): metrics
        for (day, country), metrics in semantic.query(
            columns, ["metric_time__day", "web_event__country_name"]
        ).items()
    }
    assert mart
    assert set(got) == set(mart)
    for key, row in mart.items():
        for column in columns:
            assert cents(got[key][column]) == cents(row[column]), (key, column)
    # the days per country of the correlation mart (its Pearson r stays a mart)
    days = _mart(chain, "rpt_web_traffic_order_value_correlation", ["country_name"], ["days"])
    got_days = semantic.query(["days_with_traffic"], ["web_event__country_name"])
    assert {k: v["days_with_traffic"] for k, v in got_days.items()} == {
        k: v["days"] for k, v in days.items()
    }


CHECKS = (
    check_products,
    check_customers,
    check_order_status,
    check_geography,
    check_web_by_country,
    check_web_daily,
)


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.__name__.removeprefix("check_"))
def test_metrics_equal_the_mart_after_a_full_build(chain, semantic, check):
    check(chain, semantic)


def test_mf_validate_configs_passes_on_the_built_warehouse(chain, tmp_path):
    """`mf validate-configs` (semantic and warehouse validations), as a user runs it in a dbt
    project whose target holds this build's semantic manifest."""
    project = tmp_path / "dbt"
    shutil.copytree(project_dir(), project, ignore=shutil.ignore_patterns("target", "logs"))
    (project / "target").mkdir()
    shutil.copy(chain.target / "semantic_manifest.json", project / "target")
    private_tmp = tmp_path / "tmp"
    private_tmp.mkdir(mode=0o700)
    env = os.environ | dbt_env(chain.settings) | {
        "DBT_PROFILES_DIR": str(project),
        # the mf CLI asks PyPI for a newer version on every command and caches the answer as a
        # pickle in the temp folder: a private one, and a proxy that refuses (no call out)
        "TMPDIR": str(private_tmp),
        "HTTPS_PROXY": "http://127.0.0.1:9",
    }  # fmt: skip
    result = subprocess.run(
        [str(bin_dir() / "mf"), "validate-configs"],
        cwd=project, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "validated metrics against data warehouse (ERRORS: 0" in output, output


def test_metrics_equal_the_marts_after_an_incremental_build(chain, semantic, monkeypatch):
    """New orders, status and address changes, new web events: dbt merges them into the
    facts and rebuilds the marts; MetricFlow, reading the facts, still equals every mart."""
    monkeypatch.setenv("ADW_HOME", str(chain.settings.home))  # the chain's landing zone
    monkeypatch.setenv("ADW_EVENTS_LOOKBACK_HOURS", LOOKBACK_HOURS)
    get_settings.cache_clear()
    [(orders_before,)] = chain.duck("select count(*) from marts.fct_orders")
    simulate(chain.dsn, orders=40, updates=60, seed=23, progress=quiet)
    burst(n_events=500, seed=23)
    chain.replicate()
    results = chain.dbt("build")
    assert results["model.adw.fct_orders"]["status"] == "success"
    [(orders_after,)] = chain.duck("select count(*) from marts.fct_orders")
    assert orders_after == orders_before + 40
    for check in CHECKS:
        check(chain, semantic)
