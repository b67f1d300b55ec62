"""Least privilege of change data capture: the `adw_cdc` role reads the write-ahead log and the
three schemas, and cannot write. INSERT/UPDATE/DELETE, CREATE TABLE (in a source schema, in
public, temporary) and CREATE PUBLICATION fail, also after `set default_transaction_read_only =
off` (privileges, not the session default, forbid them); it is no superuser and creates no
role or database, while REPLICATION lets it read the slot."""

from __future__ import annotations

import psycopg
import pytest

from adw_assets.lib.replication import cdc_slot
from adw_assets.lib.source.server import dsn_with_user
from adw_assets.settings import CDC_ROLE
from tests.dbt.dbt_chain import module_database
from tests.security.test_replicator_role import WRITES

CDC_WRITES = {**WRITES, "create publication": "create publication stolen for all tables"}


@pytest.fixture(scope="module")
def cdc_dsn(pg_cluster):
    """The CDC role's DSN on a source with the AdventureWorks tables, made as `--cdc-setup`
    makes it on the embedded server (its owner is a superuser)."""
    with module_database(pg_cluster) as dsn:
        with psycopg.connect(dsn, autocommit=True) as conn:
            conn.execute("insert into person.countryregion values ('ZZ', 'Somewhere', now())")
            cdc_slot.ensure_cdc_role(conn, connection_limit=8)
        yield dsn_with_user(dsn, CDC_ROLE)


@pytest.mark.parametrize("statement", CDC_WRITES.values(), ids=CDC_WRITES.keys())
def test_the_cdc_role_cannot_write(cdc_dsn, statement):
    with psycopg.connect(cdc_dsn, autocommit=True) as conn:
        assert conn.info.user == CDC_ROLE
        assert conn.execute("show default_transaction_read_only").fetchone()[0] == "on"
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):
            conn.execute(statement)
        # the session default is the client's to change; the privileges are not
        conn.execute("set default_transaction_read_only = off")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement)
        assert conn.execute("select count(*) from person.countryregion").fetchone()[0] == 1


def test_the_cdc_role_replicates_and_is_nothing_more(cdc_dsn):
    with psycopg.connect(cdc_dsn) as conn:
        row = conn.execute(
            "select rolreplication, rolsuper, rolcreaterole, rolcreatedb, rolbypassrls, "
            "rolconnlimit from pg_roles where rolname = current_user"
        ).fetchone()
    assert row == (True, False, False, False, False, 8)
