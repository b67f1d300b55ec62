"""The dashboard in a real headless Chromium: every page, numbers against SQL on the snapshot,
the live panel while `adw events stream` runs, and pages answering during a build.

One `adw dashboard` and one browser serve the whole module, over a warehouse built by the real
chain (conftest.build_warehouse); the expected numbers come from the rpt_* marts, the shown ones
from MetricFlow's metrics on the snapshot. test_real_pipeline.py runs the same checks through
the `adw` commands.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest

from adw_assets.dashboard import maps
from adw_assets.lib.serving import MANIFEST, SNAPSHOT_DB
from tests.dashboard import browser as b
from tests.dashboard.conftest import build_warehouse, export, hold_warehouse
from tests.dashboard.expected import Expected, compact_money, money
from tests.support.processes import stop

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def site(pg_cluster, tmp_path_factory):
    b.require_browser()
    home = tmp_path_factory.mktemp("dashboard") / "adw"
    home.mkdir()
    build_warehouse(pg_cluster, home)
    # the burst the build read slides out of the live window as the tests run: the live test
    # streams its own events into an empty landing zone
    shutil.rmtree(home / "events" / "landing", ignore_errors=True)
    port = b.free_port()
    b.ARTIFACTS.mkdir(parents=True, exist_ok=True)
    proc = b.start_dashboard(home, port, b.ARTIFACTS / "server.log")
    browser = b.Browser(f"http://127.0.0.1:{port}", tmp_path_factory.mktemp("chromium"))
    try:
        yield home, browser
    finally:
        browser.close()
        stop(proc)


def test_first_start_exports_a_snapshot(site):
    home, _ = site
    # no snapshot existed: `adw dashboard` exported one from the (unlocked) warehouse
    assert (home / "serving" / MANIFEST).exists()
    assert (home / "serving" / SNAPSHOT_DB).exists()


def test_overview(site):
    home, page = site
    state = page.open("", charts=2)
    assert not state["exceptions"] and not state["alerts"]
    page.screenshot("0-overview")
    x = Expected(home / "warehouse.duckdb")
    shown = dict(page.metrics())
    assert shown["Revenue"] == compact_money(x.one("select round(sum(revenue), 2) from products"))
    assert shown["Units sold"] == f"{x.one('select sum(units_sold) from products'):,}"
    assert shown["New customers"] == f"{x.one('select sum(new_customers) from customers'):,}"
    assert shown["Orders"] == f"{x.one('select sum(order_count) from statuses'):,}"
    backlog = x.one("select sum(order_count) from statuses where status_code in (1, 2, 3)")
    assert shown["Backlog"] == f"{backlog:,}"
    assert shown["Countries"] == f"{x.one('select count(distinct country_name) from geo'):,}"
    assert shown["Sessions"] == f"{x.one('select sum(sessions) from web'):,}"


def test_products(site):
    home, page = site
    state = page.open("products", charts=2)
    assert not state["exceptions"] and not state["alerts"]
    page.screenshot("1-products")
    x = Expected(home / "warehouse.duckdb")
    shown = dict(page.metrics())
    assert shown["Revenue"] == compact_money(x.one("select round(sum(revenue), 2) from products"))
    rows = x.rows(
        "select category_name, subcategory_name, round(revenue, 2), units_sold, order_count "
        "from products order by revenue desc"
    )
    table = page.tables()[0]
    assert table["head"][:3] == ["Category", "Subcategory", "Revenue"]
    got = [(r[0], r[1], r[2], r[4], r[5]) for r in table["rows"]]
    assert got == [(c, s, money(v), f"{u:,}", f"{o:,}") for c, s, v, u, o in rows]
    treemap = page.plotly()[0]["traces"][0]
    leaves = {
        i.split("/")[1]: v
        for i, v in zip(treemap["ids"], treemap["values"], strict=True)
        if "/" in i
    }
    assert leaves == pytest.approx({s: float(v) for _, s, v, _, _ in rows}, abs=0.006)


def test_customers(site):
    home, page = site
    state = page.open("customers", charts=2)
    assert not state["exceptions"] and not state["alerts"]
    page.screenshot("2-customers")
    x = Expected(home / "warehouse.duckdb")
    # the default period: the last 24 months
    last24 = "from (from customers order by month_start desc limit 24)"
    shown = dict(page.metrics())
    assert shown["New customers"] == f"{x.one(f'select sum(new_customers) {last24}'):,}"
    assert shown["Orders"] == f"{x.one(f'select sum(orders) {last24}'):,}"
    assert shown["Avg order value"] == money(
        x.one(f"select round(sum(revenue) / sum(orders), 2) {last24}")
    )
    months = x.rows(
        "select strftime(month_start, '%b %Y'), new_customers, orders, round(revenue, 2), "
        "round(avg_order_value, 2) from customers order by month_start desc limit 12"
    )
    table = page.tables()[0]
    got = [(r[0], r[1], r[3], r[4], r[5]) for r in table["rows"]]
    assert got == [(m, f"{n:,}", f"{o:,}", money(r), money(a)) for m, n, o, r, a in months]


def test_orders(site):
    home, page = site
    state = page.open("orders", charts=2)
    assert not state["exceptions"] and not state["alerts"]
    page.screenshot("3-orders")
    x = Expected(home / "warehouse.duckdb")
    shown = dict(page.metrics())
    online, total = x.row("select sum(online_order_count), sum(order_count) from statuses")
    assert shown["Online share"] == f"{online / total:.1%}"
    backlog = x.rows(
        "select status_name, order_count, round(total_due, 2) from statuses "
        "where status_code in (1, 2, 3) order by status_code"
    )
    backlog_table, all_table = page.tables()
    assert [(r[0], r[1], r[4]) for r in backlog_table["rows"]] == [
        (s, f"{n:,}", money(t)) for s, n, t in backlog
    ]
    statuses = x.rows(
        "select status_name, order_count, online_order_count, order_count - online_order_count, "
        "round(total_due, 2) from statuses order by status_code"
    )
    got = [(r[1], r[2], r[4], r[5], r[6]) for r in all_table["rows"]]
    assert got == [(s, f"{n:,}", f"{o:,}", f"{f:,}", money(t)) for s, n, o, f, t in statuses]


def test_geography_drills_down(site):
    home, page = site
    state = page.open("geography", charts=2)
    assert not state["exceptions"] and not state["alerts"]
    x = Expected(home / "warehouse.duckdb")

    def level(dim: str, where: str = "true") -> list[tuple]:
        return [
            (name, money(due), f"{orders:,}")
            for name, due, orders in x.rows(
                f"select {dim}, round(sum(total_due), 2) as due, sum(order_count) from geo "
                f"where {where} group by 1 order by due desc"
            )
        ]

    assert [tuple(r[:3]) for r in page.tables()[0]["rows"]] == level("country_name")
    # the world map: drawn from the shipped geometry (no request leaves the machine, below),
    # grey countries and a few shades of blue for the countries with orders
    [world] = _maps(page)
    assert world["painted"] > 150 and world["colours"] > 4, world  # 177 countries
    page.choose("Country", "United States")
    page.wait_ready(charts=2)
    assert dict(page.metrics())["Countries"] == "1"
    us = "country_name = 'United States'"
    assert [tuple(r[:3]) for r in page.tables()[0]["rows"]] == level("state_province_name", us)
    [states] = _maps(page)  # the US states map
    assert states["painted"] > 45 and states["colours"] > 2, states  # 50 states and DC
    page.choose("State / province", "California")
    page.wait_ready(charts=2)
    page.screenshot("4-geography-california")
    ca = f"{us} and state_province_name = 'California'"
    assert [tuple(r[:3]) for r in page.tables()[0]["rows"]] == level("city", ca)
    assert page.tables()[0]["head"][0] == "City"


def test_geography_draws_the_provinces_of_a_country_outside_the_us(site):
    home, page = site
    page.open("geography", charts=2)
    page.choose("Country", "France")
    page.wait_ready(charts=2)
    x = Expected(home / "warehouse.duckdb")
    france = x.rows(
        "select distinct state_province_name from geo where country_name = 'France' "
        "and total_due > 0"
    )
    assert len(france) > 3, france  # the synthetic data ships to several départements
    [provinces] = _maps(page)
    page.screenshot("4-geography-france")
    # the 95 metropolitan départements in grey, then one shape per département with orders,
    # coloured (the world map would draw 177 countries and France)
    geo = maps.ADMIN1["France"]
    shapes = len(maps.topology(geo.file)["objects"][geo.feature]["geometries"])
    assert provinces["painted"] == shapes + len(france), provinces
    assert provinces["colours"] > 2, provinces


def _maps(page: b.Browser, timeout: float = 30) -> list[dict]:
    deadline = time.monotonic() + timeout
    while True:  # Vega paints after Streamlit says the script finished
        maps = page.maps()
        if (maps and all(m["painted"] for m in maps)) or time.monotonic() > deadline:
            return maps
        time.sleep(0.25)


def test_web_traffic(site):
    home, page = site
    state = page.open("web", charts=3)
    assert not state["exceptions"] and not state["alerts"]
    page.screenshot("5-web")
    x = Expected(home / "warehouse.duckdb")
    shown = dict(page.metrics()[5:])  # after the five live cards
    assert shown["Sessions"] == f"{x.one('select sum(sessions) from web'):,}"
    corr = x.one("select corr(sessions, sales_total_due) from web")
    assert shown["Correlation (r)"] == f"{corr:.2f}"
    scatter = next(p for p in page.plotly() if p["title"] and "Sessions vs" in p["title"])
    assert f"r = {corr:.2f}" in scatter["title"]
    points = [t for t in scatter["traces"] if t["name"] != "Linear fit"]
    expected = x.rows("select country_name, sessions, round(sales_total_due, 2) from web")
    assert {t["name"]: t["x"][0] for t in points} == {c: s for c, s, _ in expected}
    assert {t["name"]: t["y"][0] for t in points} == pytest.approx(
        {c: float(v) for c, _, v in expected}, abs=0.006
    )


def test_no_request_leaves_the_machine(site):
    _, page = site
    page.open("web", charts=3)
    page.open("geography", charts=2)
    page.choose("Country", "United States")
    page.wait_ready(charts=2)
    _maps(page)
    page.choose("Country", "Canada")
    page.wait_ready(charts=2)
    _maps(page)
    assert page.drain_requests()  # the log works: the page's own requests are there
    assert page.external_requests() == []


def _live_events(page) -> int:
    return int(page.metrics()[0][1].replace(",", ""))


@pytest.mark.slow  # an 18-second event stream in real time
def test_live_panel_rises_while_events_stream(site):
    home, page = site
    page.open("web", charts=3)
    assert page.metrics()[0][0] == "Events"
    before = _live_events(page)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADW_")}
    env.update(ADW_HOME=str(home), DO_NOT_TRACK="1")
    adw = Path(sys.executable).parent / "adw"
    stream = subprocess.Popen(
        [str(adw), "events", "stream", "--rate", "40", "--duration", "18", "--seed", "3", "-q"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    seen = [before]
    try:
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and stream.poll() is None:
            time.sleep(1)
            value = _live_events(page)  # no reload: the panel refreshes itself
            if value != seen[-1]:
                seen.append(value)
        assert stream.wait(timeout=30) == 0, stream.stderr.read()
    finally:
        if stream.poll() is None:
            stream.kill()
    assert len(seen) >= 3, f"the live count did not keep rising: {seen}"
    assert seen == sorted(seen)
    # once the stream stopped, the panel settles on the deduplicated landing-zone count
    landing = home / "events" / "landing"
    expected = duckdb.connect().execute(
        "select count(distinct event_id) from read_parquet(?) "
        "where timestamp >= now() - interval 15 minute",
        [str(landing / "*" / "*.parquet")],
    )
    total = expected.fetchone()[0]
    deadline = time.monotonic() + 15
    while _live_events(page) != total and time.monotonic() < deadline:
        time.sleep(1)
    assert _live_events(page) == total
    page.screenshot("5-web-live")


def test_pages_answer_while_a_build_holds_the_warehouse(site, tmp_path):
    home, page = site
    warehouse = home / "warehouse.duckdb"
    # the export that ends a build elsewhere, replacing the snapshot files again and again
    rebuilt = tmp_path / "warehouse.duckdb"  # the same catalog name: dbt's views name it
    shutil.copy(warehouse, rebuilt)
    with duckdb.connect(str(rebuilt)) as con:
        con.execute("update marts.fct_orders set total_due = total_due + 1")
    stop = threading.Event()
    exports: list[float] = []
    errors: list[BaseException] = []

    def exporter() -> None:
        try:
            while not stop.is_set():
                exports.append(export(rebuilt, home / "serving")["seconds"])
        except BaseException as exc:
            errors.append(exc)

    holder = hold_warehouse(warehouse, 120)  # a long build: the warehouse is locked
    thread = threading.Thread(target=exporter)
    try:
        with pytest.raises(duckdb.IOException):  # really locked for any other process
            duckdb.connect(str(warehouse), read_only=True)
        thread.start()
        for path in ("orders", "products", "", "geography", "customers"):
            state = page.open(path, charts=2, timeout=30)
            assert not state["exceptions"] and not state["alerts"], (path, state)
            assert page.metrics(), path
        page.screenshot("6-orders-during-build")
    finally:
        stop.set()
        if thread.is_alive():
            thread.join()
        holder.kill()
        holder.wait()
    assert not errors
    assert len(exports) > 2


def test_a_page_without_data_says_what_to_run(site):
    home, page = site
    serving = home / "serving"
    moved = home / "serving-away"
    serving.rename(moved)
    try:
        state = page.open("products")
        assert not state["exceptions"]
        assert any("adw up" in a for a in state["alerts"]), state["alerts"]
        page.screenshot("7-products-no-snapshot")
    finally:
        moved.rename(serving)
