from __future__ import annotations

import psycopg
import pytest

from adw_assets.lib.source import server
from adw_assets.lib.source.catalog import TABLES
from adw_assets.settings import REPLICATION_ROLE, get_settings


def _columns(dsn: str) -> dict[str, list[tuple[str, str]]]:
    with psycopg.connect(dsn) as conn:
        rows = conn.execute(
            "select table_schema || '.' || table_name, column_name, data_type "
            "from information_schema.columns where table_schema in "
            "('person','production','sales') "
            "order by table_schema, table_name, ordinal_position"
        ).fetchall()
    out: dict[str, list[tuple[str, str]]] = {}
    for table, column, dtype in rows:
        out.setdefault(table, []).append((column, dtype))
    return out


def test_ddl_creates_the_twelve_tables_with_their_keys(source_db):
    cols = _columns(source_db)
    assert sorted(cols) == sorted(t.qualified for t in TABLES)
    for t in TABLES:
        names = [c for c, _ in cols[t.qualified]]
        assert "modifieddate" in names, t.qualified
    assert cols["sales.salesorderheader"][18:22] == [
        ("subtotal", "numeric"),
        ("taxamt", "numeric"),
        ("freight", "numeric"),
        ("totaldue", "numeric"),
    ]
    with psycopg.connect(source_db) as conn:
        pks = dict(
            conn.execute(
                "select tc.table_schema || '.' || tc.table_name, "
                "string_agg(kcu.column_name, ',' order by kcu.ordinal_position) "
                "from information_schema.table_constraints tc "
                "join information_schema.key_column_usage kcu "
                "using (constraint_schema, constraint_name) "
                "where tc.constraint_type = 'PRIMARY KEY' "
                "and tc.table_schema in ('person','production','sales') "
                "group by 1"
            ).fetchall()
        )
        fks = conn.execute(
            "select count(*) from information_schema.table_constraints "
            "where constraint_type = 'FOREIGN KEY' "
            "and table_schema in ('person','production','sales')"
        ).fetchone()[0]
    assert {t.qualified: ",".join(t.primary_key) for t in TABLES} == pks
    assert fks == 12


def test_replication_role_can_read_but_not_write(source_db):
    ro = server.replication_dsn(get_settings())
    assert f"{REPLICATION_ROLE}@" in ro
    with psycopg.connect(ro) as conn:
        assert conn.execute("select count(*) from sales.customer").fetchone()[0] == 0
        with pytest.raises(psycopg.errors.ReadOnlySqlTransaction):  # the role's default
            conn.execute("insert into person.countryregion values ('XX', 'Nowhere', now())")


def test_ensure_schema_is_idempotent(source_db):
    assert server.ensure_schema(source_db) is False


def test_embedded_server_starts_and_stops(adw_home):
    settings = get_settings()
    dsn = server.start_embedded(settings)
    try:
        assert str(settings.pgdata) and (settings.pgdata / "PG_VERSION").exists()
        st = server.status(settings)
        assert st.running and st.embedded and st.tables == {t.qualified: 0 for t in TABLES}
        # a second start reuses the running server
        assert server.start_embedded(settings) == dsn
    finally:
        assert server.stop_embedded(settings) is True
    assert server.status(settings).running is False
    assert server.stop_embedded(settings) is False
