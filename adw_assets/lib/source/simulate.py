"""OLTP activity on the source, as the shop's application would do it (plain INSERT / UPDATE).

Three transactions: (1) new customers (person + customer; those who order also get an address
and a credit card) and new orders with their lines, money computed exactly like the seed;
(2) status changes of open orders (In process -> Approved or Backordered, Approved ->
Shipped with a ship date, some Cancelled); (3) address changes and product list-price
changes. Every inserted or changed row gets ``modifieddate`` = the transaction's time (or
``at``), which is what incremental replication picks up.
"""

from __future__ import annotations

import time
from collections import Counter
from datetime import datetime

import numpy as np
import psycopg
import pyarrow as pa
from psycopg import sql

from adw_assets.errors import ConfigError, SourceError
from adw_assets.lib.source import _synth_people as people
from adw_assets.lib.source._synth_geo import addresses, cities, street_lines
from adw_assets.lib.source._synth_new_orders import next_ids, place_orders
from adw_assets.lib.source.load import Progress, stderr_progress
from adw_assets.lib.source.server import connect

NEW_BUYER_SHARE = 0.3
"""Share of new orders placed by customers who register in the same run."""


def insert_rows(conn: psycopg.Connection, qualified: str, rows: pa.Table) -> int:
    """INSERT the rows of an Arrow table, one statement per row (pipelined), as an app does."""
    if rows.num_rows == 0:
        return 0
    schema, table = qualified.split(".")
    stmt = sql.SQL("insert into {} ({}) values ({})").format(
        sql.Identifier(schema, table),
        sql.SQL(", ").join(map(sql.Identifier, rows.column_names)),
        sql.SQL(", ").join(sql.Placeholder() * rows.num_columns),
    )
    with conn.cursor() as cur:
        cur.executemany(stmt, [tuple(r.values()) for r in rows.to_pylist()])
    return rows.num_rows


def _now(conn: psycopg.Connection, at: datetime | None) -> np.datetime64:
    when = at or conn.execute("select localtimestamp(0)").fetchone()[0]
    return np.datetime64(when.replace(tzinfo=None), "s")


def _new_customers(conn, rng, seed: int, n: int, buyers: int, now) -> tuple[dict, Counter]:
    """Register ``n`` people as customers; the first ``buyers`` get an address and a card."""
    done: Counter = Counter()
    if n == 0:
        return {}, done
    first_person = conn.execute(
        "select greatest((select max(businessentityid) from person.person), "
        "(select max(businessentityid) from sales.store), 0) + 1"
    ).fetchone()[0]
    city_idx = cities().sample(rng, n)
    country = cities().country[city_idx]
    created = np.full(n, now)
    person_ids = np.arange(first_person, first_person + n)
    rows = people.persons(rng, seed, person_ids, np.full(n, "IN"), country, created, created, now)
    done["customers_created"] = insert_rows(conn, "person.person", rows)
    address_ids = next_ids(conn, "person.address", "addressid", buyers)
    if buyers:
        table = addresses(rng, seed, 0, city_idx[:buyers], created[:buyers])
        table = table.set_column(0, "addressid", pa.array(address_ids))
        done["addresses_created"] = insert_rows(conn, "person.address", table)
    card_ids = next_ids(conn, "sales.creditcard", "creditcardid", buyers)
    done["creditcards_created"] = insert_rows(
        conn, "sales.creditcard", people.creditcards(rng, card_ids, created[:buyers])
    )
    customer_ids = next_ids(conn, "sales.customer", "customerid", n)
    territory = cities().territoryid[city_idx]
    insert_rows(
        conn,
        "sales.customer",
        people.customers(rng, customer_ids, person_ids, np.zeros(n, np.int64), territory, created),
    )
    buyers_info = {
        "customerid": customer_ids[:buyers],
        "addressid": address_ids,
        "creditcardid": card_ids,
        "territoryid": territory[:buyers],
    }
    return buyers_info, done


def _change_statuses(conn, rng, n: int, now, before: int) -> Counter:
    """Move ``n`` open orders (placed before this run: keys up to ``before``) along."""
    done: Counter = Counter()
    open_orders = conn.execute(
        "select salesorderid, status from sales.salesorderheader "
        "where status in (1, 2, 3) and salesorderid <= %s order by salesorderid",
        (before,),
    ).fetchall()
    if not open_orders or n == 0:
        return done
    picked = rng.choice(len(open_orders), size=min(n, len(open_orders)), replace=False)
    changes = []
    for i in sorted(picked):
        order_id, status = open_orders[i]
        roll = rng.random()
        if status == 1:
            new = 2 if roll < 0.85 else 3 if roll < 0.95 else 6
        elif status == 2:
            new = 5 if roll < 0.9 else 6
        else:
            new = 2 if roll < 0.5 else 5 if roll < 0.9 else 6
        name = {2: "orders_approved", 3: "orders_backordered", 5: "orders_shipped"}
        done[name.get(new, "orders_cancelled")] += 1
        changes.append((new, new == 5, now.item(), now.item(), order_id))
    with conn.cursor() as cur:
        cur.executemany(
            "update sales.salesorderheader set status = %s, "
            "shipdate = case when %s then greatest(orderdate, %s) end, "
            "revisionnumber = revisionnumber + 1, modifieddate = greatest(orderdate, %s) "
            "where salesorderid = %s",
            changes,
        )
    return done


def _move_addresses(conn, rng, seed: int, n: int, now) -> int:
    rows = conn.execute(
        "select a.addressid, a.stateprovinceid, s.countryregioncode from person.address a "
        "join person.stateprovince s using (stateprovinceid) where a.modifieddate < %s "
        "order by a.addressid",
        (now.item(),),
    ).fetchall()
    if not rows or n == 0:
        return 0
    picked = [rows[i] for i in sorted(rng.choice(len(rows), size=min(n, len(rows)), replace=False))]
    c = cities()
    line1, _ = street_lines(rng, seed, np.array([r[2] for r in picked]))
    changes = []
    for (address_id, state, _country), street in zip(picked, line1.to_pylist(), strict=True):
        same_state = np.flatnonzero(c.stateprovinceid == state)
        if len(same_state) == 0:
            continue
        city = int(rng.choice(same_state))
        changes.append(
            (street, c.city[city].as_py(), c.postalcode[city].as_py(), now.item(), address_id)
        )
    with conn.cursor() as cur:
        cur.executemany(
            "update person.address set addressline1 = %s, addressline2 = null, city = %s, "
            "postalcode = %s, modifieddate = %s where addressid = %s",
            changes,
        )
    return len(changes)


def _reprice(conn, rng, n: int, now) -> int:
    rows = conn.execute(
        "select productid, listprice from production.product where listprice > 0 order by productid"
    ).fetchall()
    if not rows or n == 0:
        return 0
    picked = [rows[i] for i in sorted(rng.choice(len(rows), size=min(n, len(rows)), replace=False))]
    changes = []
    for product_id, price in picked:
        new = max(round(float(price) * rng.uniform(0.92, 1.12)), 1) - 0.01
        changes.append((f"{new:.2f}", now.item(), product_id))
    with conn.cursor() as cur:
        cur.executemany(
            "update production.product set listprice = %s, modifieddate = %s where productid = %s",
            changes,
        )
    return len(changes)


def _delete(conn, rng, n: int) -> Counter:
    """Hard deletes, as an application does them: ``n`` split between single order lines
    (an order keeps at least one), credit cards no order uses (with their links to people),
    and whole orders with their lines."""
    done: Counter = Counter()
    if n == 0:
        return done
    lines, cards = n // 3, n // 3
    whole = n - lines - cards
    ids = [r[0] for r in conn.execute(
        "select salesorderdetailid from sales.salesorderdetail d where (select count(*) from "
        "sales.salesorderdetail o where o.salesorderid = d.salesorderid) > 1 "
        "order by salesorderdetailid"
    ).fetchall()]  # fmt: skip
    picked = [ids[i] for i in rng.choice(len(ids), size=min(lines, len(ids)), replace=False)]
    done["order_lines_deleted"] = conn.execute(
        "delete from sales.salesorderdetail where salesorderdetailid = any(%s)", (picked,)
    ).rowcount
    ids = [r[0] for r in conn.execute(
        "select creditcardid from sales.creditcard c where not exists (select 1 from "
        "sales.salesorderheader h where h.creditcardid = c.creditcardid) order by creditcardid"
    ).fetchall()]  # fmt: skip
    picked = [ids[i] for i in rng.choice(len(ids), size=min(cards, len(ids)), replace=False)]
    if conn.execute("select to_regclass('sales.personcreditcard') is not null").fetchone()[0]:
        conn.execute("delete from sales.personcreditcard where creditcardid = any(%s)", (picked,))
    done["creditcards_deleted"] = conn.execute(
        "delete from sales.creditcard where creditcardid = any(%s)", (picked,)
    ).rowcount
    ids = [r[0] for r in conn.execute(
        "select salesorderid from sales.salesorderheader order by salesorderid"
    ).fetchall()]  # fmt: skip
    picked = [ids[i] for i in rng.choice(len(ids), size=min(whole, len(ids)), replace=False)]
    done["order_lines_deleted"] += conn.execute(
        "delete from sales.salesorderdetail where salesorderid = any(%s)", (picked,)
    ).rowcount
    done["orders_deleted"] = conn.execute(
        "delete from sales.salesorderheader where salesorderid = any(%s)", (picked,)
    ).rowcount
    return done


def simulate(
    dsn: str,
    *,
    orders: int = 100,
    updates: int = 200,
    deletes: int = 0,
    seed: int | None = None,
    at: datetime | None = None,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Run one round of shop activity; counts of each kind of change.

    ``updates`` is split between order status changes (half), address changes (a quarter)
    and product price changes (the rest). ``deletes`` hard-deletes order lines, unused
    credit cards and whole orders with their lines, a third each, in a fourth transaction:
    what cursor replication cannot see and CDC replicates. ``at`` fixes ``modifieddate``
    (default: now).
    """
    if orders < 0 or updates < 0 or deletes < 0:
        raise ConfigError("--orders, --updates and --deletes must be zero or more.")
    say = progress or stderr_progress
    started = time.perf_counter()
    seed = int(np.random.SeedSequence(seed).generate_state(1)[0]) if seed is None else seed
    rng = np.random.default_rng(seed)
    done: Counter = Counter()
    with connect(dsn) as conn:
        conn.execute("select pg_advisory_xact_lock(hashtext('adw source simulate'))")
        if not conn.execute("select exists (select 1 from sales.salesorderheader)").fetchone()[0]:
            raise SourceError("the source has no orders to build on; run `adw source seed` first.")
        now = _now(conn, at)
        last_order = conn.execute(
            "select max(salesorderid) from sales.salesorderheader"
        ).fetchone()[0]
        new_buyers = round(orders * NEW_BUYER_SHARE)
        registered = new_buyers + round(orders * 0.1)
        buyers, created = _new_customers(conn, rng, seed, registered, new_buyers, now)
        done.update(created)
        done.update(place_orders(conn, rng, orders, buyers, now))
        conn.commit()
        n_status = updates // 2
        now = _now(conn, at)
        done.update(_change_statuses(conn, rng, n_status, now, last_order))
        conn.commit()
        now = _now(conn, at)
        n_address = (updates - n_status) // 2
        done["addresses_changed"] = _move_addresses(conn, rng, seed, n_address, now)
        done["prices_changed"] = _reprice(conn, rng, updates - n_status - n_address, now)
        conn.commit()
        if deletes:
            done.update(_delete(conn, rng, deletes))
            conn.commit()
    say(f"simulated {sum(done.values()):,} changes in {time.perf_counter() - started:.1f} s")
    return dict(done)
