"""Least privilege of replication: `adw_replicator` cannot write, whatever it sets in its
session, and an external source is never replicated as its owner.

On the embedded server of a fresh ADW_HOME, connected with the DSN `adw source dsn
--replication` prints: INSERT/UPDATE/DELETE, CREATE TABLE and CREATE TEMP TABLE fail, also after
`set default_transaction_read_only = off` (privileges, not the session default, forbid them);
the role's connection limit holds; `adw replicate` works as that role.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import psycopg
import pytest

from adw_assets.settings import REPLICATION_ROLE

ADW = Path(sys.executable).with_name("adw")
WORKERS = 2  # ADW_REPLICATION_WORKERS' default
RANGE_READERS = 2  # ADW_REPLICATION_RANGE_READERS' default


def _adw(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(ADW), *args], env=env, capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def embedded():
    """(environment, replication DSN) of a seeded embedded source; stopped afterwards."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ADW_", "DAGSTER_HOME"))}
    env["ADW_HOME"] = str(Path(tempfile.mkdtemp(prefix="adw-role-")) / "adw")
    try:
        seeded = _adw(env, "source", "seed", "--scale", "0.01")
        assert seeded.returncode == 0, seeded.stderr
        dsn = _adw(env, "source", "dsn", "--replication")
        assert dsn.returncode == 0, dsn.stderr
        yield env, dsn.stdout.strip()
    finally:
        _adw(env, "source", "stop")
        shutil.rmtree(Path(env["ADW_HOME"]).parent, ignore_errors=True)


WRITES = {
    "insert": "insert into person.countryregion values ('XX', 'Nowhere', now())",
    "update": "update sales.creditcard set cardnumber = '0'",
    "delete": "delete from sales.salesorderdetail",
    "create table in a source schema": "create table sales.stolen (cardnumber text)",
    "create table in public": "create table public.stolen (cardnumber text)",
    "create temp table": "create temp table stolen as select cardnumber from sales.creditcard",
}


@pytest.mark.parametrize("statement", WRITES.values(), ids=WRITES.keys())
def test_the_replicator_cannot_write(embedded, statement):
    _env, dsn = embedded
    with psycopg.connect(dsn, autocommit=True) as conn:
        assert conn.info.user == REPLICATION_ROLE
        assert conn.execute("show default_transaction_read_only").fetchone()[0] == "on"
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute(statement)
        # the session default is the client's to change; the privileges are not
        conn.execute("set default_transaction_read_only = off")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)
        assert conn.execute("select count(*) from sales.creditcard").fetchone()[0] > 0


def test_the_replicator_has_a_connection_limit(embedded):
    from adw_assets.lib.source.server import REPLICATION_CONNECTION_MARGIN

    _env, dsn = embedded
    limit = WORKERS * RANGE_READERS + REPLICATION_CONNECTION_MARGIN
    with psycopg.connect(dsn) as conn:
        row = conn.execute(
            "select rolconnlimit, rolsuper, rolcreaterole, rolcreatedb from pg_roles "
            "where rolname = current_user"
        ).fetchone()
    assert row == (limit, False, False, False)
    opened = [psycopg.connect(dsn) for _ in range(limit)]
    try:
        with pytest.raises(psycopg.OperationalError, match="too many connections"):
            psycopg.connect(dsn)
    finally:
        for conn in opened:
            conn.close()


def test_adw_replicate_works_as_the_replicator(embedded):
    env, _dsn = embedded
    done = _adw(env, "replicate", "sales.creditcard", "sales.customer")
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize(
    "command",
    [("replicate",), ("up", "--scale", "0.01"), ("source", "dsn", "--replication")],
    ids=" ".join,
)
def test_an_external_source_without_a_replication_dsn_is_refused(tmp_path, command):
    """Never the owner's DSN for replication: one line with the SQL of the read-only role."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ADW_", "DAGSTER_HOME"))}
    password = "Owner-Pw-5f1c"
    env |= {
        "ADW_HOME": str(tmp_path / "adw"),
        # nothing listens there: the refusal comes before any connection
        "ADW_SOURCE_DSN": f"postgresql://owner:{password}@127.0.0.1:1/shop",
        "ADW_CARD_HASH_SALT": "a-salt-of-an-external-source",  # adw up checks it first
    }
    done = _adw(env, *command)
    assert done.returncode == 1, done.stdout + done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    (line,) = lines
    assert "ADW_REPLICATION_DSN" in line and "Traceback" not in line
    for sql in (
        f"create role {REPLICATION_ROLE} login",
        f'alter role "{REPLICATION_ROLE}" set default_transaction_read_only = on',
        'revoke temp on database "shop" from public',
        f'grant select on all tables in schema "person", "production", "sales" to '
        f'"{REPLICATION_ROLE}"',
    ):
        assert sql in line, line
    assert password not in done.stdout + done.stderr
