"""Incremental facts under updates: seed -> replicate -> dbt build, then change the source
(status changes, new orders, moved addresses, new prices) -> replicate -> dbt build again.

The facts must show the new values with no duplicate rows, and equal a full rebuild.
"""

from __future__ import annotations

from datetime import date

import pytest

from adw_assets.lib.source.seed import seed_database
from adw_assets.lib.source.simulate import simulate
from tests.dbt.dbt_chain import Chain, module_database, quiet, settings_for

pytestmark = pytest.mark.slow

CHANGED_ORDERS = 25


@pytest.fixture(scope="module")
def chain(pg_cluster, tmp_path_factory) -> Chain:
    home = tmp_path_factory.mktemp("incremental")
    with module_database(pg_cluster) as dsn:
        seed_database(dsn, scale=0.05, seed=11, today=date(2025, 6, 1), progress=quiet)
        # lookback 0: the second build merges only rows extracted after the first one
        chain = Chain(dsn, settings_for(home, ADW_DBT_LOOKBACK_MINUTES="0"), home / "target")
        chain.replicate()
        chain.dbt("build")
        yield chain


@pytest.fixture(scope="module")
def changed(chain: Chain) -> dict:
    """Change the source, replicate, build incrementally; what changed."""
    [(before,)] = chain.duck("select max(_loaded_at) from marts.fct_orders")
    [(orders_before,)] = chain.duck("select count(*) from marts.fct_orders")
    orders = chain.pg(
        "select salesorderid, status from sales.salesorderheader order by salesorderid limit %s",
        (CHANGED_ORDERS,),
    )
    new_status = {order_id: status % 6 + 1 for order_id, status in orders}
    for order_id, status in new_status.items():
        chain.pg_execute(
            "update sales.salesorderheader set status = %s, modifieddate = now() "
            "where salesorderid = %s",
            (status, order_id),
        )
    activity = simulate(chain.dsn, orders=30, updates=40, seed=5, progress=quiet)
    chain.replicate()
    results = chain.dbt("build")
    return {
        "before": before,
        "orders_before": orders_before,
        "new_status": new_status,
        "activity": activity,
        "results": results,
    }


def test_second_build_is_incremental(chain, changed):
    for model in ("fct_orders", "fct_sales"):
        result = changed["results"][f"model.adw.{model}"]
        assert result["status"] == "success"
        # the incremental branch (filter on _loaded_at) was compiled, not a full rebuild
        assert "_loaded_at > coalesce(" in result["compiled_code"], model
    merged = chain.duck(
        f"select count(*) from marts.fct_orders where _loaded_at > '{changed['before']}'"
    )[0][0]
    [(total,)] = chain.duck("select count(*) from marts.fct_orders")
    assert CHANGED_ORDERS <= merged < total


def test_status_change_shows_new_status_without_duplicates(chain, changed):
    statuses = dict(chain.duck("select sales_order_id, status_code from marts.fct_orders"))
    for order_id, status in changed["new_status"].items():
        assert statuses[order_id] == status, order_id
    assert statuses == dict(chain.pg("select salesorderid, status from sales.salesorderheader"))
    [(rows, keys)] = chain.duck(
        "select count(*), count(distinct sales_order_id) from marts.fct_orders"
    )
    assert rows == keys == len(statuses)
    line_status = chain.duck(
        "select count(*) from marts.fct_sales s join marts.fct_orders o using (sales_order_id) "
        "where s.status_code <> o.status_code"
    )
    assert line_status == [(0,)]
    [(lines, line_keys)] = chain.duck(
        "select count(*), count(distinct (sales_order_id, sales_order_detail_id)) "
        "from marts.fct_sales"
    )
    assert lines == line_keys == chain.pg("select count(*) from sales.salesorderdetail")[0][0]


def test_marts_match_source_after_changes(chain, changed):
    [(orders,)] = chain.duck("select count(*) from marts.fct_orders")
    assert orders == changed["orders_before"] + 30  # the simulated new orders arrived
    per_status = chain.pg(
        "select status, count(*), sum(totaldue) from sales.salesorderheader group by 1"
    )
    mart = chain.duck(
        "select status_code, order_count, total_due from marts.rpt_order_status "
        "where order_count > 0"
    )
    assert sorted(mart) == sorted(per_status)
    per_country = chain.pg(
        "select cr.name, count(*), sum(h.totaldue) from sales.salesorderheader h "
        "join person.address a on a.addressid = h.shiptoaddressid "
        "join person.stateprovince sp using (stateprovinceid) "
        "join person.countryregion cr using (countryregioncode) group by 1"
    )
    mart_country = chain.duck(
        "select country_name, sum(order_count), sum(total_due) "
        "from marts.rpt_sales_by_geography group by 1"
    )
    assert sorted(mart_country) == sorted(per_country)
    [(revenue,)] = chain.pg(
        "select sum(orderqty * unitprice * (1 - unitpricediscount)) from sales.salesorderdetail"
    )
    assert chain.duck("select sum(revenue) from marts.rpt_sales_by_product_category") == [
        (revenue,)
    ]


def test_incremental_facts_equal_a_full_rebuild(chain, changed):
    query = {
        "fct_orders": "select * exclude (_loaded_at) from marts.fct_orders",
        "fct_sales": "select * exclude (_loaded_at) from marts.fct_sales",
    }
    incremental = {name: sorted(chain.duck(sql)) for name, sql in query.items()}
    results = chain.dbt("build", "--select", "fct_orders", "fct_sales", "--full-refresh")
    assert "_loaded_at > coalesce(" not in results["model.adw.fct_orders"]["compiled_code"]
    rebuilt = {name: sorted(chain.duck(sql)) for name, sql in query.items()}
    assert incremental == rebuilt
