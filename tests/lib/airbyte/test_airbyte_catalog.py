"""Discovering the source as Airbyte's Postgres source does, as the read-only role."""

from __future__ import annotations

import psycopg

from adw_assets.lib.airbyte.catalog import introspect, json_schema_type
from adw_assets.lib.source.catalog import TABLES
from adw_assets.settings import get_settings


def test_the_read_only_role_discovers_every_table_with_its_primary_key(source_db):
    with psycopg.connect(get_settings().replication_dsn) as conn:
        streams = introspect(conn)

    assert [(s.namespace, s.name, s.primary_key) for s in streams] == [
        (t.schema, t.name, t.primary_key) for t in TABLES
    ]
    detail = streams[-1]
    assert detail.columns[0] == ("salesorderid", "integer")
    assert ("unitprice", "numeric") in detail.columns


def test_a_new_table_outside_the_catalog_can_be_discovered(source_db):
    with psycopg.connect(source_db) as conn:
        conn.execute("create table sales.currency (currencycode char(3) primary key, name text)")
        streams = introspect(conn, [("sales", "currency")])

    assert [(s.name, s.primary_key, s.columns) for s in streams] == [
        ("currency", ("currencycode",), (("currencycode", "character"), ("name", "text")))
    ]


def test_json_schema_types():
    assert json_schema_type("bigint") == {"type": "number", "airbyte_type": "integer"}
    assert json_schema_type("date") == {"type": "string", "format": "date"}
    assert json_schema_type("xml") == {"type": "string"}
    assert json_schema_type("timestamp with time zone")["airbyte_type"] == (
        "timestamp_with_timezone"
    )
