"""A handful of AdventureWorks rows in 11 of the 12 source tables (``sales.store`` stays
empty), enough to see real rows, exact types and a composite key cross a replication."""

from __future__ import annotations

import psycopg

ROWS = """
insert into person.countryregion (countryregioncode, name, modifieddate) values
  ('NA', 'Namibia', '2014-02-08 10:01:36'), ('US', 'United States', '2014-02-08 10:01:36');
insert into person.stateprovince
  (stateprovinceid, stateprovincecode, countryregioncode, name, territoryid, modifieddate)
  values (1, 'WA ', 'US', 'Washington', 1, '2014-02-08 10:17:21');
insert into person.address
  (addressid, addressline1, city, stateprovinceid, postalcode, modifieddate)
  values (1, '1970 Napa Ct.', 'Bothell', 1, '98011', '2007-12-04 00:00:00');
insert into person.person (businessentityid, persontype, firstname, lastname, modifieddate)
  values (1, 'IN', 'Ken', 'Sánchez', '2009-01-07 00:00:00');
insert into production.productcategory (productcategoryid, name, modifieddate)
  values (1, 'Bikes', '2008-04-30 00:00:00'), (2, 'Components', '2008-04-30 00:00:00');
insert into production.productsubcategory
  (productsubcategoryid, productcategoryid, name, modifieddate)
  values (1, 1, 'Mountain Bikes', '2008-04-30 00:00:00');
insert into production.product (productid, name, productnumber, safetystocklevel, reorderpoint,
  standardcost, listprice, daystomanufacture, productsubcategoryid, sellstartdate, modifieddate)
  values (771, 'Mountain-100 Silver, 38', 'BK-M82S-38', 100, 75, 1912.1544, 3399.9900, 4, 1,
  '2011-05-31 00:00:00', '2014-02-08 10:01:36');
insert into sales.creditcard (creditcardid, cardtype, cardnumber, expmonth, expyear, modifieddate)
  values (1, 'SuperiorCard', '33332664695310', 11, 2006, '2013-07-29 00:00:00');
insert into sales.customer (customerid, personid, territoryid, modifieddate)
  values (11000, 1, 9, '2014-09-12 11:15:07');
insert into sales.salesorderheader (salesorderid, orderdate, duedate, customerid,
  billtoaddressid, shiptoaddressid, shipmethodid, creditcardid, subtotal, taxamt, freight,
  totaldue, modifieddate)
  values (43697, '2011-05-31', '2011-06-12', 11000, 1, 1, 1, 1, 3578.2700, 286.2616,
  89.4568, 3953.9884, '2011-06-07 00:00:00');
insert into sales.salesorderdetail (salesorderid, salesorderdetailid, orderqty, productid,
  specialofferid, unitprice, modifieddate)
  values (43697, 1, 1, 771, 1, 3399.9900, '2011-05-31 00:00:00'),
         (43697, 2, 2, 771, 1, 89.1350, '2011-05-31 00:00:00');
"""


def insert_sample_rows(dsn: str) -> dict[str, int]:
    """Insert the rows; returns the row count per ``schema.table``."""
    with psycopg.connect(dsn) as conn:
        conn.execute(ROWS)
        tables = conn.execute(
            "select table_schema || '.' || table_name from information_schema.tables"
            " where table_schema in ('person', 'production', 'sales')"
        ).fetchall()
        return {t: conn.execute(f"select count(*) from {t}").fetchone()[0] for (t,) in tables}
