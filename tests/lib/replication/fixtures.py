"""Fixtures and helpers shared by the replication tests (lib, defs, cli).

A seeded AdventureWorks database is built once per session (synthetic, small scale) and used as
a PostgreSQL template: each test gets its own copy in ~0.1 s.
"""

from __future__ import annotations

import uuid
from datetime import date
from pathlib import Path

import duckdb
import psycopg
import pytest

from adw_assets.lib.source.catalog import TABLES
from tests.lib.replication.fingerprint import compare_table

SCALE = 0.02
TODAY = date(2026, 1, 15)


def with_database(dsn: str, database: str) -> str:
    from adw_assets.lib.source.server import with_database

    return with_database(dsn, database)


@pytest.fixture(scope="session")
def seeded_template(pg_cluster) -> str:
    """Name of a database seeded at a small scale, used as the template of ``replica_source``."""
    from adw_assets.lib.source.seed import seed_database
    from adw_assets.lib.source.server import ensure_schema

    name = f"tpl_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_cluster, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    dsn = with_database(pg_cluster, name)
    ensure_schema(dsn)
    seed_database(dsn, scale=SCALE, seed=7, today=TODAY, progress=lambda _msg: None)
    yield name
    with psycopg.connect(pg_cluster, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture
def replica_source(pg_cluster, seeded_template, monkeypatch) -> str:
    """A fresh copy of the seeded database; ADW_SOURCE_DSN/ADW_REPLICATION_DSN point at it.

    Returns the owner's DSN (to change the source); the engine reads as ``adw_replicator``.
    """
    from adw_assets.lib.source.server import dsn_with_user
    from adw_assets.settings import REPLICATION_ROLE, get_settings

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_cluster, autocommit=True) as conn:
        conn.execute(f'create database "{name}" template "{seeded_template}"')
    dsn = with_database(pg_cluster, name)
    monkeypatch.setenv("ADW_SOURCE_DSN", dsn)
    monkeypatch.setenv("ADW_REPLICATION_DSN", dsn_with_user(dsn, REPLICATION_ROLE))
    monkeypatch.setenv("ADW_CARD_HASH_SALT", "test-salt-of-an-external-source")  # needs one
    get_settings.cache_clear()
    yield dsn
    with psycopg.connect(pg_cluster, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


def replication_dsn(dsn: str) -> str:
    from adw_assets.lib.source.server import dsn_with_user
    from adw_assets.settings import REPLICATION_ROLE

    return dsn_with_user(dsn, REPLICATION_ROLE)


def sync_keeping_raw_history(dsn: str, path: Path, **kwargs):
    """:func:`replicate` into the DuckDB file ``path``, also keeping the raw history (off by
    default), for the tests that check it beside the final tables."""
    from adw_assets.lib.replication import DuckDBDestination, replicate

    return replicate(dsn, DuckDBDestination(path), raw_history=True, **kwargs)


def mismatches(dsn: str, path: Path, prefix: str = "raw_", tables=TABLES) -> dict[str, tuple]:
    """Tables whose warehouse copy differs from the source (row count or checksum)."""
    out = {}
    con = duckdb.connect(str(path), read_only=True)
    try:
        with psycopg.connect(dsn) as conn:
            for t in tables:
                src, dst = compare_table(conn, con, t.schema, t.name, prefix)
                if src != dst:
                    out[t.qualified] = (src, dst)
    finally:
        con.close()
    return out


def duplicate_keys(path: Path, prefix: str = "raw_") -> dict[str, int]:
    """Tables whose final table holds a primary key more than once."""
    out = {}
    con = duckdb.connect(str(path), read_only=True)
    try:
        for t in TABLES:
            pk = ", ".join(t.primary_key)
            n = con.execute(
                f"select count(*) from (select {pk} from {prefix}{t.schema}.{t.name} "
                f"group by {pk} having count(*) > 1)"
            ).fetchone()[0]
            if n:
                out[t.qualified] = n
    finally:
        con.close()
    return out


def query(path: Path, sql: str, params=None) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def execute(dsn: str, *statements: str) -> None:
    with psycopg.connect(dsn) as conn:
        for s in statements:
            conn.execute(s)
        conn.commit()
