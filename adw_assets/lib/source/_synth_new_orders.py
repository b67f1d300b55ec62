"""New orders placed during a simulation: as the seed's orders, one at a time, exact money."""

from __future__ import annotations

import uuid
from collections import Counter
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import psycopg

from adw_assets.lib.source._synth_sales import ONLINE_LINES, RESELLER_LINES, VOLUME

CENT4 = Decimal("0.0001")
HEADER_COLUMNS = (
    "salesorderid, revisionnumber, orderdate, duedate, status, onlineorderflag, "
    "purchaseordernumber, accountnumber, customerid, salespersonid, territoryid, "
    "billtoaddressid, shiptoaddressid, shipmethodid, creditcardid, creditcardapprovalcode, "
    "subtotal, taxamt, freight, totaldue, rowguid, modifieddate"
)
DETAIL_COLUMNS = (
    "salesorderid, salesorderdetailid, orderqty, productid, specialofferid, unitprice, "
    "unitpricediscount, rowguid, modifieddate"
)


def next_ids(conn: psycopg.Connection, qualified: str, column: str, n: int) -> np.ndarray:
    """``n`` fresh keys from the serial sequence of ``qualified.column``."""
    rows = conn.execute(
        "select nextval(pg_get_serial_sequence(%s, %s)) from generate_series(1, %s)",
        (qualified, column, n),
    ).fetchall()
    return np.array([r[0] for r in rows], dtype=np.int64)


def _round(value: Decimal) -> Decimal:
    return value.quantize(CENT4, rounding=ROUND_HALF_UP)


def _products(
    conn: psycopg.Connection, now
) -> tuple[np.ndarray, list[Decimal], np.ndarray, np.ndarray]:
    """Finished goods on sale at ``now``: ids, list prices, category, weight (past sales + 1)."""
    query = (
        "select p.productid, p.listprice, coalesce(s.productcategoryid, 0), coalesce(h.n, 0) + 1 "
        "from production.product p "
        "left join production.productsubcategory s using (productsubcategoryid) "
        "left join (select productid, count(*) as n from sales.salesorderdetail group by 1) h "
        "using (productid) where p.finishedgoodsflag and p.listprice > 0 {} order by p.productid"
    )
    on_sale = (
        "and p.sellstartdate <= %(now)s and (p.sellenddate is null or p.sellenddate >= %(now)s)"
    )
    rows = conn.execute(query.format(on_sale), {"now": now.item()}).fetchall()
    if not rows:
        rows = conn.execute(query.format("")).fetchall()
    ids = np.array([r[0] for r in rows], dtype=np.int64)
    return (
        ids,
        [r[1] for r in rows],
        np.array([r[2] for r in rows]),
        np.array([r[3] for r in rows], dtype=np.float64),
    )


def _existing_buyers(conn: psycopg.Connection, rng: np.random.Generator, n: int) -> list[tuple]:
    """Customers of ``n`` random past orders (so ~88% online), with their address and card."""
    if n == 0:
        return []
    ids = [r[0] for r in conn.execute("select salesorderid from sales.salesorderheader order by 1")]
    picked = [ids[i] for i in rng.integers(0, len(ids), size=n)]
    rows = conn.execute(
        "select salesorderid, customerid, billtoaddressid, shiptoaddressid, creditcardid, "
        "territoryid, salespersonid, onlineorderflag from sales.salesorderheader "
        "where salesorderid = any(%s)",
        (picked,),
    ).fetchall()
    by_id = {r[0]: r[1:] for r in rows}
    return [by_id[i] for i in picked]


def place_orders(
    conn: psycopg.Connection, rng: np.random.Generator, n: int, new_buyers: dict, now
) -> Counter:
    """Insert ``n`` orders (status In process) with their lines; new buyers order first."""
    done: Counter = Counter()
    if n == 0:
        return done
    fresh = len(new_buyers.get("customerid", []))
    buyers = [
        (
            int(new_buyers["customerid"][i]),
            int(new_buyers["addressid"][i]),
            int(new_buyers["addressid"][i]),
            int(new_buyers["creditcardid"][i]),
            int(new_buyers["territoryid"][i]),
            None,
            True,
        )
        for i in range(min(fresh, n))
    ] + _existing_buyers(conn, rng, n - min(fresh, n))
    product_ids, prices, category, weight = _products(conn, now)
    order_ids = next_ids(conn, "sales.salesorderheader", "salesorderid", n).tolist()
    when = now.item()
    headers, details = [], []
    for order_id, (customer, bill, ship, card, territory, salesperson, online) in zip(
        order_ids, buyers, strict=True
    ):
        pmf = np.array(ONLINE_LINES if online else RESELLER_LINES, dtype=np.float64)
        eligible = np.flatnonzero(category != 2) if online else np.arange(len(product_ids))
        k = min(int(rng.choice(len(pmf), p=pmf / pmf.sum())) + 1, len(eligible))
        p = weight[eligible] / weight[eligible].sum()
        subtotal = Decimal(0)
        for j in rng.choice(eligible, size=k, replace=False, p=p):
            qty = 1 if online else 1 + min(int(rng.negative_binomial(1.3, 0.35)), 43)
            price = prices[j] if online else _round(prices[j] * Decimal("0.6"))
            offer, disc = 1, Decimal(0)
            for low, offer_id, rate in VOLUME:
                if not online and qty >= low:
                    offer, disc = offer_id, Decimal(rate) / 10_000
            subtotal += qty * price * (1 - disc)
            details.append((order_id, qty, int(product_ids[j]), offer, price, disc, when))
        subtotal = _round(subtotal)
        tax, freight = _round(subtotal * Decimal("0.08")), _round(subtotal * Decimal("0.025"))
        approval = f"{rng.integers(10**5, 10**6)}Vi{rng.integers(10**4, 10**5)}" if card else None
        headers.append(
            (
                order_id,
                0,
                when,
                when + np.timedelta64(12, "D").item(),
                1,
                bool(online),
                None if online else f"PO{rng.integers(10**10, 10**11)}",
                f"10-40{30 if online else 20}-{customer:06d}",
                customer,
                salesperson,
                territory,
                bill,
                ship,
                1 if online else 5,
                card,
                approval,
                subtotal,
                tax,
                freight,
                subtotal + tax + freight,
                str(uuid.UUID(bytes=rng.bytes(16), version=4)),
                when,
            )
        )
    line_ids = next_ids(conn, "sales.salesorderdetail", "salesorderdetailid", len(details)).tolist()
    with conn.cursor() as cur:
        cur.executemany(
            f"insert into sales.salesorderheader ({HEADER_COLUMNS}) values "
            f"({', '.join(['%s'] * 22)})",
            headers,
        )
        cur.executemany(
            f"insert into sales.salesorderdetail ({DETAIL_COLUMNS}) values "
            f"({', '.join(['%s'] * 9)})",
            [
                (o, lid, q, pid, off, pr, d, str(uuid.UUID(bytes=rng.bytes(16), version=4)), w)
                for lid, (o, q, pid, off, pr, d, w) in zip(line_ids, details, strict=True)
            ],
        )
    done["orders_created"], done["order_lines_created"] = len(headers), len(details)
    return done
