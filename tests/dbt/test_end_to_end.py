"""The real AdventureWorks, end to end: load CSVs into PostgreSQL -> replicate -> dbt build.

Every mart figure is compared with the same figure computed independently by SQL straight on
the PostgreSQL source tables; money must match exactly (to the cent and beyond).
"""

from __future__ import annotations

import hashlib
from decimal import Decimal

import pytest

from adw_assets.lib.source.load import load_directory
from tests.dbt.dbt_chain import Chain, module_database, quiet, settings_for

pytestmark = [pytest.mark.realdata, pytest.mark.slow]

SALT = "test-salt-e2e"
SALES_MARTS = (
    "dim_customers", "dim_products", "dim_addresses", "dim_dates", "dim_order_statuses",
    "dim_credit_cards", "fct_sales", "fct_orders", "rpt_sales_by_product_category",
    "rpt_customer_acquisition", "rpt_order_status", "rpt_sales_by_geography",
)  # fmt: skip


@pytest.fixture(scope="module")
def chain(pg_cluster, shared_adventureworks, tmp_path_factory) -> Chain:
    home = tmp_path_factory.mktemp("e2e")
    with module_database(pg_cluster) as dsn:
        load_directory(dsn, shared_adventureworks, progress=quiet)
        chain = Chain(dsn, settings_for(home, ADW_CARD_HASH_SALT=SALT), home / "dbt-target")
        chain.replicate()
        chain.results = chain.dbt("build")
        yield chain


def _by_key(rows: list[tuple], width: int = 1) -> dict:
    return {tuple(r[:width]) if width > 1 else r[0]: tuple(r[width:]) for r in rows}


def test_dbt_build_passes_every_model_test_and_contract(chain):
    statuses = {r["status"] for r in chain.results.values()}
    assert statuses <= {"success", "pass", "no-op"}, statuses  # no-op: the exposure
    kinds = {uid.split(".")[0] for uid in chain.results}
    assert {"model", "seed", "test", "unit_test"} <= kinds
    marts = [u for u in chain.results if u.startswith("model.adw.rpt_")]
    assert len(marts) >= 4


def test_sales_by_product_category_matches_source(chain):
    source = chain.pg(
        """
        select coalesce(c.name, 'Uncategorized'), coalesce(s.name, 'Uncategorized'),
               count(distinct d.salesorderid), sum(d.orderqty),
               sum(d.orderqty * d.unitprice * (1 - d.unitpricediscount))
        from sales.salesorderdetail d
        join production.product p on p.productid = d.productid
        left join production.productsubcategory s
            on s.productsubcategoryid = p.productsubcategoryid
        left join production.productcategory c on c.productcategoryid = s.productcategoryid
        group by 1, 2
        """
    )
    mart = chain.duck(
        "select category_name, subcategory_name, order_count, units_sold, revenue "
        "from marts.rpt_sales_by_product_category"
    )
    assert len(source) > 30
    assert _by_key(mart, 2) == _by_key(source, 2)  # exact decimals, not just to the cent
    per_category_source = chain.pg(
        """
        select c.name, sum(d.orderqty * d.unitprice * (1 - d.unitpricediscount))
        from sales.salesorderdetail d
        join production.product p using (productid)
        join production.productsubcategory s using (productsubcategoryid)
        join production.productcategory c on c.productcategoryid = s.productcategoryid
        group by 1
        """
    )
    per_category_mart = chain.duck(
        "select category_name, sum(revenue) from marts.rpt_sales_by_product_category group by 1"
    )
    assert {k: round(v, 2) for k, v in per_category_mart} == {
        k: round(v, 2) for k, v in per_category_source
    }


def test_order_status_matches_source(chain):
    source = chain.pg(
        "select status, count(*), count(*) filter (where onlineorderflag), sum(totaldue) "
        "from sales.salesorderheader group by status"
    )
    mart = chain.duck(
        "select status_code, order_count, online_order_count, total_due from marts.rpt_order_status"
    )
    assert len(mart) == 6  # one row per status, used or not
    expected = {code: (0, 0, Decimal(0)) for code in range(1, 7)} | _by_key(source)
    assert _by_key(mart) == expected


def test_geography_matches_source_per_city_and_per_country(chain):
    geography = """
        from sales.salesorderheader h
        join person.address a on a.addressid = h.shiptoaddressid
        join person.stateprovince sp on sp.stateprovinceid = a.stateprovinceid
        join person.countryregion cr on cr.countryregioncode = sp.countryregioncode
    """
    per_city = chain.pg(
        "select cr.name, sp.name, a.city, count(*), count(distinct h.customerid), "
        f"sum(h.totaldue) {geography} group by 1, 2, 3"
    )
    mart = chain.duck(
        "select country_name, state_province_name, city, order_count, customer_count, "
        "total_due from marts.rpt_sales_by_geography"
    )
    assert _by_key(mart, 3) == _by_key(per_city, 3)
    per_country = chain.pg(
        f"select cr.name, count(*), sum(h.totaldue) {geography} group by 1 order by 3 desc"
    )
    mart_country = chain.duck(
        "select country_name, sum(order_count), sum(total_due) "
        "from marts.rpt_sales_by_geography group by 1 order by 3 desc"
    )
    assert mart_country == per_country
    assert mart_country[0][0] == "United States"


def test_customer_acquisition_matches_source(chain):
    source = chain.pg(
        """
        with firsts as (
            select customerid, min(orderdate) as first_order from sales.salesorderheader
            group by customerid
        ),
        revenue as (
            select salesorderid, sum(orderqty * unitprice * (1 - unitpricediscount)) as amount
            from sales.salesorderdetail group by salesorderid
        ),
        monthly as (
            select date_trunc('month', h.orderdate)::date as month, count(*) as orders,
                   count(distinct h.customerid) as active, sum(r.amount) as revenue
            from sales.salesorderheader h join revenue r using (salesorderid) group by 1
        ),
        new as (
            select date_trunc('month', first_order)::date as month, count(*) as new_customers
            from firsts group by 1
        )
        select m.month, coalesce(n.new_customers, 0), m.active, m.orders, m.revenue,
               round(m.revenue / m.orders, 4), round(m.revenue / m.active, 4)
        from monthly m left join new n using (month)
        """
    )
    mart = chain.duck(
        "select month_start, new_customers, active_customers, orders, revenue, "
        "avg_order_value, avg_spend_per_customer from marts.rpt_customer_acquisition"
    )
    source_by_month, mart_by_month = _by_key(source), _by_key(mart)
    assert set(source_by_month) <= set(mart_by_month)
    for month, expected in source_by_month.items():
        got = mart_by_month[month]
        assert got[:4] == expected[:4], month
        # averages: decimals rounded to 4 places (DuckDB divides in double, then rounds)
        assert abs(got[4] - expected[4]) <= Decimal("0.0001"), month
        assert abs(got[5] - expected[5]) <= Decimal("0.0001"), month
    # months without orders (none in the real data) would be zero rows
    assert all(r[3] == 0 for m, r in mart_by_month.items() if m not in source_by_month)
    distinct_customers = chain.pg("select count(distinct customerid) from sales.salesorderheader")
    assert sum(r[0] for r in mart_by_month.values()) == distinct_customers[0][0]
    assert (
        chain.duck("select count(*) from marts.dim_customers where first_order_date is not null")
        == distinct_customers
    )


def test_cross_checks_between_marts(chain):
    [(category_revenue, line_revenue)] = chain.duck(
        "select (select sum(revenue) from marts.rpt_sales_by_product_category), "
        "(select sum(revenue) from marts.fct_sales)"
    )
    assert category_revenue == line_revenue
    [(geography_due, status_due, orders_due)] = chain.duck(
        "select (select sum(total_due) from marts.rpt_sales_by_geography), "
        "(select sum(total_due) from marts.rpt_order_status), "
        "(select sum(total_due) from marts.fct_orders)"
    )
    assert geography_due == status_due == orders_due
    [(source_due,)] = chain.pg("select sum(totaldue) from sales.salesorderheader")
    assert orders_due == source_due


def test_days_to_ship_and_customer_names(chain):
    source = chain.pg(
        "select shipdate::date - orderdate::date, count(*) from sales.salesorderheader group by 1"
    )
    mart = chain.duck("select days_to_ship, count(*) from marts.fct_orders group by 1")
    assert dict(mart) == dict(source)
    assert chain.duck("select count(*) from marts.dim_customers where customer_name is null") == [
        (0,)
    ]
    # a person customer without a middle name still has "first last"
    [(person_id, first, last)] = chain.pg(
        "select p.businessentityid, p.firstname, p.lastname from sales.customer c "
        "join person.person p on p.businessentityid = c.personid "
        "where p.middlename is null and c.storeid is null order by c.customerid limit 1"
    )
    assert chain.duck(
        f"select customer_name from marts.dim_customers where person_id = {person_id}"
    ) == [(f"{first} {last}",)]


def test_money_columns_are_exact_decimals(chain):
    names = ", ".join(f"'{t}'" for t in SALES_MARTS)
    types = chain.duck(
        "select table_name, column_name, data_type from information_schema.columns "
        f"where table_schema = 'marts' and table_name in ({names})"
    )
    assert {t[0] for t in types} == set(SALES_MARTS)
    floats = [t for t in types if t[2] in ("DOUBLE", "FLOAT", "REAL")]
    assert floats == []
    money = {(t, c): d for t, c, d in types if c in ("revenue", "total_due", "list_price")}
    assert money and all(d.startswith("DECIMAL") for d in money.values())


def test_card_numbers_never_leave_staging_in_clear(chain):
    cards = dict(chain.pg("select creditcardid, cardnumber from sales.creditcard"))
    numbers = set(cards.values())
    string_columns = chain.duck(
        "select table_schema, table_name, column_name from information_schema.columns "
        "where table_schema in ('staging', 'intermediate', 'marts') and data_type = 'VARCHAR'"
    )
    for schema, table, column in string_columns:
        values = {
            v
            for (v,) in chain.duck(f'select distinct "{column}" from {schema}.{table}')
            if v is not None
        }
        assert not values & numbers, f"card numbers in clear in {schema}.{table}.{column}"
    rows = chain.duck(
        "select credit_card_id, card_number_last_four, card_number_hash "
        "from marts.dim_credit_cards order by credit_card_id limit 50"
    )
    for card_id, last_four, digest in rows:
        assert last_four == cards[card_id][-4:]
        assert digest == hashlib.sha256((SALT + cards[card_id]).encode()).hexdigest()
