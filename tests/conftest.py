"""Test isolation: every test has its own ADW_HOME and, when it asks, its own source database.

One real PostgreSQL server (the pgserver wheel) serves the whole session; each test that
needs the source gets a fresh database in it, created with the real DDL and read-only role.
"""

from __future__ import annotations

import os
import shutil
import uuid
from pathlib import Path

import psycopg
import pytest

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
os.environ.setdefault("DAGSTER_DISABLE_TELEMETRY", "1")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_ADVENTUREWORKS = REPO_ROOT.parent / "shared" / "adventureworks"


SHELL_UMASK = 0o022
"""The umask of a user's shell."""


@pytest.fixture(autouse=True)
def adw_home(tmp_path, monkeypatch) -> Path:
    """A private ADW_HOME; no ADW_* variable leaks in from the developer's shell."""
    from adw_assets.settings import get_settings

    for name in list(os.environ):
        if name.startswith("ADW_"):
            monkeypatch.delenv(name)
    home = tmp_path / "adw"
    monkeypatch.setenv("ADW_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    (home / "dagster").mkdir(parents=True)
    get_settings.cache_clear()
    os.umask(SHELL_UMASK)  # each test starts as from a user's shell: adw sets 077 where it
    yield home  # runs (the CLI, the code location), which must not leak into the next test
    os.umask(SHELL_UMASK)
    get_settings.cache_clear()


@pytest.fixture(scope="session")
def pg_cluster() -> str:
    """One real PostgreSQL 16 server for the session; returns the admin DSN (db postgres).

    Its data lives outside pytest's basetemp: pytest makes that folder owner-only at each
    session start, which would lock out the ``pgserver`` OS user of a concurrent session.
    """
    import tempfile

    import pgserver

    pgdata = Path(tempfile.mkdtemp(prefix="adw-test-pg-"))
    from adw_assets.lib.source.server import configure_logical_wal

    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    if configure_logical_wal(server.get_uri("postgres")):  # as the embedded server runs
        server.cleanup()
        server = pgserver.get_server(pgdata, cleanup_mode="stop")
    yield server.get_uri("postgres")
    server.cleanup()
    shutil.rmtree(pgdata, ignore_errors=True)


def with_database(dsn: str, database: str) -> str:
    from adw_assets.lib.source.server import with_database

    return with_database(dsn, database)


@pytest.fixture
def empty_db(pg_cluster) -> str:
    """A fresh empty database in the session server (no tables)."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_cluster, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    yield with_database(pg_cluster, name)
    with psycopg.connect(pg_cluster, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


@pytest.fixture
def source_db(empty_db, monkeypatch) -> str:
    """A fresh source database with the AdventureWorks DDL and read-only role.

    ADW_SOURCE_DSN and ADW_REPLICATION_DSN point at it, so adw uses it and starts no server.
    """
    from adw_assets.lib.source.server import dsn_with_user, ensure_schema
    from adw_assets.settings import REPLICATION_ROLE, get_settings

    ensure_schema(empty_db)
    monkeypatch.setenv("ADW_SOURCE_DSN", empty_db)
    monkeypatch.setenv("ADW_REPLICATION_DSN", dsn_with_user(empty_db, REPLICATION_ROLE))
    monkeypatch.setenv("ADW_CARD_HASH_SALT", "test-salt-of-an-external-source")  # needs one
    get_settings.cache_clear()
    return empty_db


@pytest.fixture(scope="session")
def shared_adventureworks() -> Path:
    """The real AdventureWorks CSVs; tests that need them skip where they are absent."""
    if not (SHARED_ADVENTUREWORKS / "sales.salesorderheader.csv").exists():
        pytest.skip(
            f"real AdventureWorks CSVs not found at {SHARED_ADVENTUREWORKS}; "
            "put the <schema>.<table>.csv files there to run this test"
        )
    return SHARED_ADVENTUREWORKS
