"""The dashboard on marts built by the real pipeline, in a real browser.

PostgreSQL (seeded) -> `adw replicate` -> `adw build` (dbt through Dagster), with web events
from `adw events stream`; the snapshot export; `adw dashboard`. Then the pages must keep
answering while `adw source simulate` + `adw replicate` + `adw build` run again, and show the
new figures once the snapshot is exported after that build.
"""

from __future__ import annotations

import subprocess
import sys
import time
import uuid
from pathlib import Path

import duckdb
import psycopg
import pytest

from adw_assets.lib.serving import SNAPSHOT_DB
from adw_assets.lib.source.seed import seed_database
from adw_assets.lib.source.server import ensure_schema, with_database
from tests.dashboard import browser as b
from tests.dashboard.expected import Expected, compact_money, money
from tests.support.live_dagster import adw_env
from tests.support.processes import stop

pytestmark = [pytest.mark.browser, pytest.mark.slow]

ADW = str(Path(sys.executable).parent / "adw")


def _run(env: dict[str, str], *args: str, timeout: float = 600) -> str:
    started = time.perf_counter()
    done = subprocess.run(
        [ADW, *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert done.returncode == 0, f"adw {' '.join(args)}:\n{done.stdout}\n{done.stderr}"
    print(f"adw {' '.join(args)}: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    return done.stdout


@pytest.fixture(scope="module")
def real_site(pg_cluster, tmp_path_factory):
    b.require_browser()
    name = f"t_dash_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_cluster, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    dsn = with_database(pg_cluster, name)
    home = tmp_path_factory.mktemp("real") / "adw"
    env = adw_env(home, dsn)
    ensure_schema(dsn)
    started = time.perf_counter()
    seed_database(dsn, scale=0.1, seed=11)
    print(f"seed: {time.perf_counter() - started:.1f} s", file=sys.stderr)
    _run(env, "events", "stream", "--rate", "300", "--duration", "4", "--seed", "5", "-q")
    _run(env, "replicate")
    _run(env, "build", "--no-answers")  # refreshes the dashboard snapshot too (its asset)
    port = b.free_port()
    proc = b.start_dashboard(home, port, b.ARTIFACTS / "server-real.log")
    page = b.Browser(f"http://127.0.0.1:{port}", tmp_path_factory.mktemp("chromium"))
    try:
        yield home, env, page
    finally:
        page.close()
        stop(proc)
        with psycopg.connect(pg_cluster, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


def test_snapshot_equals_the_built_marts(real_site):
    home, _, _ = real_site
    snapshot = str(home / "serving" / SNAPSHOT_DB)
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        con.execute(f"attach '{snapshot}' as snap (read_only)")
        relations = con.execute(
            "select table_name from information_schema.tables where table_catalog = 'snap' "
            "and table_schema = 'marts' order by 1"
        ).fetchall()
        assert len(relations) == 9  # the exposure `dashboard`: facts, dims, spine, r mart
        for (mart,) in relations:
            rows = con.execute(f"select count(*) from marts.{mart}").fetchone()[0]
            assert rows > 0, mart  # every relation, web ones included, has data
            for a, c in ((f"marts.{mart}", f"snap.marts.{mart}"),
                         (f"snap.marts.{mart}", f"marts.{mart}")):  # fmt: skip
                assert con.execute(f"select count(*) from (from {a} except all from {c})")\
                    .fetchone() == (0,), mart  # fmt: skip


def _check_pages(home: Path, page: b.Browser, prefix: str) -> None:
    x = Expected(home / "warehouse.duckdb")
    for path, charts in (("", 2), ("products", 2), ("customers", 2), ("orders", 2),
                         ("geography", 2), ("web", 3)):  # fmt: skip
        state = page.open(path, charts=charts, timeout=120)
        assert not state["exceptions"] and not state["alerts"], (path, state)
        page.screenshot(f"{prefix}-{path or 'overview'}")
        if path == "":
            shown = dict(page.metrics())
            revenue = x.one("select round(sum(revenue), 2) from products")
            assert shown["Revenue"] == compact_money(revenue)
            assert shown["Orders"] == f"{x.one('select sum(order_count) from statuses'):,}"
            backlog = x.one("select sum(order_count) from statuses where is_open")
            assert shown["Backlog"] == f"{backlog:,}"
        elif path == "orders":
            statuses = x.rows(
                "select status_name, order_count, round(total_due, 2) from statuses "
                "order by status_code"
            )
            rows = page.tables()[-1]["rows"]
            assert [(r[1], r[2], r[6]) for r in rows] == [
                (s, f"{n:,}", money(t)) for s, n, t in statuses
            ]
        elif path == "geography":
            countries = x.rows(
                "select country_name, round(sum(total_due), 2) as due, sum(order_count) "
                "from geo group by 1 order by due desc"
            )
            assert [tuple(r[:3]) for r in page.tables()[0]["rows"]] == [
                (c, money(d), f"{n:,}") for c, d, n in countries
            ]
        elif path == "web":
            shown = dict(page.metrics()[5:])
            assert shown["Sessions"] == f"{x.one('select sum(sessions) from web'):,}"


def test_every_page_shows_the_built_marts(real_site):
    home, _, page = real_site
    _check_pages(home, page, "real")


def test_pages_answer_during_replicate_and_build(real_site):
    home, env, page = real_site
    _run(env, "source", "simulate", "--orders", "300", "--updates", "100", "--seed", "9")
    chain = subprocess.Popen(
        ["bash", "-c", f"'{ADW}' replicate && '{ADW}' build --no-answers"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    loads = 0
    try:
        paths = ["orders", "products", "", "geography", "web", "customers"]
        while chain.poll() is None:
            path = paths[loads % len(paths)]
            state = page.open(path, charts=3 if path == "web" else 2, timeout=60)
            assert not state["exceptions"] and not state["alerts"], (path, state)
            loads += 1
        assert chain.returncode == 0, chain.stderr.read()
    finally:
        if chain.poll() is None:
            chain.kill()
    assert loads >= 3, "the build ended before the pages were exercised"
    print(f"{loads} page loads during replicate + build, all answered", file=sys.stderr)
    # the build is over: the snapshot it refreshed shows the new orders
    _check_pages(home, page, "real-after")
