"""The reader and the type mapping on awkward values: exact decimals, NULL vs "", "NA", ..."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import psycopg
import pyarrow as pa

from adw_assets.lib.replication import reader
from adw_assets.lib.replication.catalog import discover, is_widening

DDL = """
create schema s;
create table s.t (
    id integer primary key,
    code char(3),
    name varchar(20),
    price numeric(19,4),
    ratio numeric,
    flag boolean,
    small smallint,
    big bigint,
    born date,
    at timestamp,
    atz timestamptz,
    guid uuid,
    blob bytea,
    tags text[],
    modifieddate timestamp not null
);
insert into s.t values
 (1, 'NA', 'NA', 2024.994, 1.5, true, -3, 9007199254740993, '2001-02-03',
  '2014-09-12 11:15:07.263', '2020-01-01 12:00:00+02', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11',
  '\\x00ff0a', '{a,b}', '2020-01-01'),
 (2, null, '', 0.0001, null, false, null, null, null, null, null, null, null, null,
  '2020-01-02'),
 (3, 'x', e'two\\nlines, "quoted"', 123456789012345.6789, 1e-20, null, 0, 0,
  '1999-12-31', '2000-01-01 00:00:00.000001', null, null, '', '{}', '2020-01-03');
"""


def _read(dsn: str, since=None, batch_rows: int = 100) -> pa.Table:
    with psycopg.connect(dsn) as conn:
        conn.execute(DDL)
        conn.commit()
    with reader.connect(dsn) as conn:
        stream = discover(conn, ["s.t"])["s.t"]
        assert stream.primary_key == ("id",)
        batches = list(reader.read_batches(conn, stream, since, batch_rows))
    return pa.concat_tables(batches) if batches else None


def test_values_keep_their_exact_types(empty_db):
    t = _read(empty_db).sort_by("id").to_pylist()
    one, two, three = t
    assert one["code"] == "NA " and one["name"] == "NA"  # "NA" is not NULL; padding kept
    assert two["code"] is None and two["name"] == ""  # NULL and "" stay apart
    assert one["price"] == Decimal("2024.9940") and two["price"] == Decimal("0.0001")
    assert three["price"] == Decimal("123456789012345.6789")
    assert one["flag"] is True and two["flag"] is False and three["flag"] is None
    assert one["big"] == 9007199254740993  # beyond float precision
    assert one["born"] == date(2001, 2, 3)
    assert one["at"] == datetime(2014, 9, 12, 11, 15, 7, 263000)
    assert three["at"] == datetime(2000, 1, 1, 0, 0, 0, 1)
    assert one["atz"] == datetime(2020, 1, 1, 10, 0)  # read in UTC
    assert one["guid"] == "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
    assert one["blob"] == "AP8K" and three["blob"] == ""  # base64, as Airbyte writes binary
    assert one["tags"] == "{a,b}"
    assert three["name"] == 'two\nlines, "quoted"'


def test_batches_are_bounded_and_the_cursor_filters(empty_db):
    with psycopg.connect(empty_db) as conn:
        conn.execute(DDL)
        conn.execute(
            "insert into s.t (id, modifieddate) select g, timestamp '2021-01-01' + g * "
            "interval '1 minute' from generate_series(10, 1009) g"
        )
        conn.commit()
    with reader.connect(empty_db) as conn:
        stream = discover(conn, ["s.t"])["s.t"]
        sizes = [b.num_rows for b in reader.read_batches(conn, stream, None, 300)]
        assert sizes == [300, 300, 300, 103]
        since = datetime(2021, 1, 1, 16, 0)  # minute 960 onwards
        recent = list(reader.read_batches(conn, stream, since, 300))
        assert sum(b.num_rows for b in recent) == 50
        assert list(reader.read_batches(conn, stream, datetime(2030, 1, 1), 300)) == []


def test_the_catalog_maps_types_and_knows_widenings(empty_db):
    with psycopg.connect(empty_db) as conn:
        conn.execute(DDL)
        stream = discover(conn, ["s.t", "s.missing"])["s.t"]
    types = {c.name: c.duck_type for c in stream.columns}
    assert types["price"] == "DECIMAL(19,4)" and types["ratio"] == "DOUBLE"
    assert types["atz"] == "TIMESTAMP WITH TIME ZONE" and types["guid"] == "VARCHAR"
    assert is_widening("SMALLINT", "INTEGER") and is_widening("DECIMAL(19,4)", "DECIMAL(21,5)")
    assert is_widening("INTEGER", "DECIMAL(12,2)")
    assert not is_widening("INTEGER", "SMALLINT") and not is_widening("VARCHAR", "BIGINT")
    assert not is_widening("DECIMAL(19,4)", "DECIMAL(19,5)")
