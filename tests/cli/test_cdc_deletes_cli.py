"""Deletes through dbt to the marts, as a user types it in CDC mode: `adw replicate --cdc-setup`,
`adw build`, `adw source simulate --deletes N`, `adw replicate`, `adw build`. The orders deleted
in the source leave the incremental facts and `rpt_order_status`, and the marts equal a full
rebuild (`adw build --full-refresh`); a table that only lost rows still counts as new data for
the warm build."""

from __future__ import annotations

from datetime import date

import duckdb
import psycopg
import pytest

from adw_assets.lib.replication import cdc_slot
from adw_assets.lib.source.seed import seed_database
from adw_assets.lib.source.server import dsn_with_user
from adw_assets.settings import CDC_ROLE
from tests.cli.test_build_cli import adw, marts
from tests.dbt.dbt_chain import module_database, quiet
from tests.support.live_dagster import adw_env

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def project(pg_cluster, tmp_path_factory):
    home = tmp_path_factory.mktemp("cdc-deletes")
    with module_database(pg_cluster) as dsn:
        seed_database(dsn, scale=0.05, seed=8, today=date(2025, 6, 1), progress=quiet)
        with psycopg.connect(dsn, autocommit=True) as conn:  # a superuser makes the role
            cdc_slot.ensure_cdc_role(conn, connection_limit=8)
        env = adw_env(home, dsn)
        env.update(
            ADW_REPLICATION_METHOD="cdc", ADW_REPLICATION_CDC_DSN=dsn_with_user(dsn, CDC_ROLE)
        )
        try:
            yield dsn, home, env
        finally:
            cdc_slot.teardown(dsn)  # a slot keeps its database from being dropped


def source_orders(dsn: str) -> dict[int, int]:
    with psycopg.connect(dsn) as conn:
        return dict(conn.execute("select salesorderid, status from sales.salesorderheader"))


def source_lines(dsn: str) -> set[tuple[int, int]]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute("select salesorderid, salesorderdetailid from sales.salesorderdetail")
        return set(rows.fetchall())


def fact(home, sql: str) -> list[tuple]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def order_counts(home) -> dict[int, int]:
    return dict(fact(home, "select status_code, order_count from marts.rpt_order_status"))


def test_deleted_orders_leave_the_marts_which_equal_a_full_rebuild(project):
    dsn, home, env = project
    adw(env, "replicate", "--cdc-setup")
    adw(env, "build", "--no-answers")
    before = source_orders(dsn)
    assert {o for (o,) in fact(home, "select sales_order_id from marts.fct_orders")} == set(before)

    sim = adw(env, "source", "simulate", "--orders", "5", "--updates", "10", "--deletes", "12",
              "--seed", "4")  # fmt: skip
    assert "orders_deleted" in sim.stdout
    after = source_orders(dsn)
    deleted = set(before) - set(after)
    assert len(deleted) >= 3, sim.stdout
    adw(env, "replicate")
    said = adw(env, "build", "--no-answers").stderr
    assert "sales.salesorderheader" in said, said[-3000:]

    orders = {o for (o,) in fact(home, "select sales_order_id from marts.fct_orders")}
    assert orders == set(after) and not orders & deleted
    lines = set(fact(home, "select sales_order_id, sales_order_detail_id from marts.fct_sales"))
    assert lines == source_lines(dsn)
    per_status: dict[int, int] = {}
    for status in after.values():
        per_status[status] = per_status.get(status, 0) + 1
    assert {s: n for s, n in order_counts(home).items() if n} == per_status

    built = marts(home)
    adw(env, "build", "--full-refresh", "--no-answers")
    assert marts(home) == built


def test_a_table_that_only_lost_rows_is_new_data_for_the_warm_build(project):
    """One order line deleted and nothing else: the order lines' final table only shrinks; the
    warm build still rebuilds what reads it and the line leaves `fct_sales`."""
    dsn, home, env = project
    adw(env, "build", "--no-answers")  # after the last test's full rebuild: nothing new
    with psycopg.connect(dsn, autocommit=True) as conn:
        gone = conn.execute(
            "delete from sales.salesorderdetail where salesorderdetailid = "
            "(select max(salesorderdetailid) from sales.salesorderdetail) "
            "returning salesorderid, salesorderdetailid"
        ).fetchone()
    adw(env, "replicate")
    said = adw(env, "build", "--no-answers").stderr
    (line,) = [line for line in said.splitlines() if "new data in " in line]
    assert "sales.salesorderdetail" in line and "sales.salesorderheader" not in line, line
    lines = set(fact(home, "select sales_order_id, sales_order_detail_id from marts.fct_sales"))
    assert gone not in lines and lines == source_lines(dsn)

    built = marts(home)
    adw(env, "build", "--full-refresh", "--no-answers")
    assert marts(home) == built
