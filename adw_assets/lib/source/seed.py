"""Seed the source with a synthetic AdventureWorks (faker + numpy, loaded with COPY).

Scale 1.0 gives about the real row counts (31,465 orders, ~121,000 lines, 19,820 customers,
...); the catalogue (504 products) and the reference lists (238 countries, 181 states and
provinces, 4 categories, 37 subcategories) do not scale. The data is deterministic for a
``(seed, scale, today)``: order dates span the three years before ``today`` (default: the real
today), so the same seed on another day shifts the dates. Distributions: docs/source.md.

Everything happens in one transaction (the database is unchanged if anything fails), in
batches of bounded size, so scale 10 needs about the memory of scale 1.
"""

from __future__ import annotations

import io
import time
from datetime import date

import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv

from adw_assets.errors import ConfigError
from adw_assets.lib.source._synth_world import World
from adw_assets.lib.source.catalog import TABLES, TABLES_BY_NAME
from adw_assets.lib.source.load import (
    Progress,
    copy_statement,
    foreign_keys_checked_at_end,
    nonempty_tables,
    prepare_target,
    reset_sequences,
    stderr_progress,
)
from adw_assets.lib.source.server import connect, ensure_schema

MAX_SCALE = 100.0
_CSV = pacsv.WriteOptions(include_header=False, batch_size=8192)


def is_seeded(dsn: str) -> bool:
    """Whether any of the 12 source tables holds a row (``False`` when they do not exist)."""
    with connect(dsn) as conn:
        try:
            return bool(nonempty_tables(conn))
        except psycopg.errors.UndefinedTable:
            return False


def copy_arrow(conn: psycopg.Connection, qualified: str, rows: pa.Table) -> int:
    """COPY an Arrow table (columns named as in the database) into ``qualified``."""
    buf = io.BytesIO()
    pacsv.write_csv(rows, buf, _CSV)
    with conn.cursor().copy(
        copy_statement(TABLES_BY_NAME[qualified], rows.column_names, header=False)
    ) as copy:
        copy.write(buf.getbuffer())
    return rows.num_rows


def seed_database(
    dsn: str,
    *,
    scale: float = 1.0,
    seed: int = 42,
    replace: bool = False,
    today: date | None = None,
    progress: Progress | None = None,
) -> dict[str, int]:
    """Fill the source with synthetic data; row counts per ``schema.table`` in catalog order.

    Refuses a database that already holds rows unless ``replace`` (which wipes the 12 tables
    in the same transaction). ``today`` anchors the dates (the last orders are placed the day
    before it); pass a fixed date for reproducible data.
    """
    if not 0 < scale <= MAX_SCALE:
        raise ConfigError(f"--scale {scale} is out of range; use a number in (0, {MAX_SCALE:g}].")
    say = progress or stderr_progress
    started = time.perf_counter()
    ensure_schema(dsn)
    counts = dict.fromkeys((t.qualified for t in TABLES), 0)
    with connect(dsn) as conn:
        prepare_target(conn, replace, "seed")
        world = World(scale, seed, today or date.today())
        with foreign_keys_checked_at_end(conn):
            _copy_world(conn, world, counts, say)
        reset_sequences(conn)
        conn.commit()
    total, elapsed = sum(counts.values()), time.perf_counter() - started
    say(f"seeded {total:,} rows in {elapsed:.1f} s ({total / max(elapsed, 1e-6):,.0f} rows/s)")
    return counts


def _copy_world(
    conn: psycopg.Connection, world: World, counts: dict[str, int], say: Progress
) -> None:
    current, t0 = None, time.perf_counter()
    batches = world.batches()
    while True:
        t_batch = time.perf_counter()
        item = next(batches, None)
        if item is None:
            break
        qualified, rows = item
        if qualified != current and qualified != "sales.salesorderdetail":
            _report(say, current, counts, t_batch - t0)
            current, t0 = qualified, t_batch
        counts[qualified] += copy_arrow(conn, qualified, rows)
        if qualified == "sales.salesorderdetail":
            say(f"  orders: {counts['sales.salesorderheader']:,} of {len(world.orderdate):,}")
    _report(say, current, counts, time.perf_counter() - t0)


def _report(say: Progress, qualified: str | None, counts: dict[str, int], seconds: float) -> None:
    if qualified is None:
        return
    n = counts[qualified]
    if qualified == "sales.salesorderheader":
        n += counts["sales.salesorderdetail"]
        qualified = "sales.salesorder{header,detail}"
    rate = n / max(seconds, 1e-6)
    say(f"  {qualified:<32} {n:>9,} rows  {rate:>10,.0f} rows/s")
