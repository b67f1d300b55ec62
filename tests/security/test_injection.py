"""No value from settings, files or catalogs reaches SQL as code (issue 14, item 2).

Each setting or name that ends up in a SQL statement is fed a hostile value through the path
that reaches SQL: values are bound as parameters or validated with a one-line error naming the
variable, and identifiers are quoted (a name with a quote in it is read as that name).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from adw_assets.errors import ConfigError
from adw_assets.lib.replication import DuckDBDestination
from adw_assets.settings import get_settings

ADW = Path(sys.executable).with_name("adw")
INJECTION = "1GB'; create table main.injected as select 42; --"
"""The value that made `adw replicate` create a table on main before issue 14."""
HOSTILE_LIMITS = [INJECTION, "1GB' ; drop schema airbyte_internal cascade; --", "1GB\n; --"]


def tables(path: Path) -> set[str]:
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute("select schema_name || '.' || table_name from duckdb_tables()")
        return {r[0] for r in rows.fetchall()}


def run(*args: str, env: dict[str, str], cwd: Path, timeout: float = 600):
    return subprocess.run(
        [str(ADW), *args], env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout
    )


def one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


# -- ADW_REPLICATION_MEMORY_LIMIT: `set memory_limit = ?` -------------------------------------


@pytest.mark.parametrize("limit", HOSTILE_LIMITS)
def test_the_memory_limit_is_validated_where_it_reaches_sql(tmp_path, limit):
    """A caller that bypasses the settings (a library call, run config) gets the same one-line
    error, and nothing the value says is executed."""
    path = tmp_path / "warehouse.duckdb"
    duckdb.connect(str(path)).close()
    with (
        pytest.raises(ConfigError) as err,
        DuckDBDestination(path, memory_limit=limit).open_run([], workers=1),
    ):
        pass
    assert str(err.value).startswith("ADW_REPLICATION_MEMORY_LIMIT=")
    assert "\n" not in str(err.value)
    assert tables(path) == set()


def test_a_valid_memory_limit_is_set_and_restored(tmp_path):
    path = tmp_path / "warehouse.duckdb"
    with DuckDBDestination(path, memory_limit="96 MiB").open_run([], workers=1) as run_:
        limit = run_.con.execute("select current_setting('memory_limit')").fetchall()[0][0]
    assert limit == "96.0 MiB"


def test_adw_replicate_never_executes_a_hostile_memory_limit(adw_home, tmp_path):
    """Through the commands a user types, on the embedded source seeded at scale 0.01."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADW_")}
    env |= {"ADW_HOME": str(adw_home), "XDG_RUNTIME_DIR": str(_runtime_dir(tmp_path))}
    try:
        seeded = run("source", "seed", "--scale", "0.01", env=env, cwd=tmp_path)
        assert seeded.returncode == 0, seeded.stderr
        first = run("replicate", env=env, cwd=tmp_path)
        assert first.returncode == 0, first.stderr
        wh = adw_home / "warehouse.duckdb"
        before = tables(wh)
        assert "raw_sales.salesorderheader" in before
        for limit in HOSTILE_LIMITS:
            hostile = run(
                "replicate", env=env | {"ADW_REPLICATION_MEMORY_LIMIT": limit}, cwd=tmp_path
            )
            assert hostile.returncode == 1
            line = one_line(hostile.stderr)
            assert "ADW_REPLICATION_MEMORY_LIMIT" in line and "set it to e.g. 128MB" in line
            assert tables(wh) == before  # no `injected`, nothing dropped
    finally:
        run("source", "stop", env=env, cwd=tmp_path)


def _runtime_dir(tmp_path: Path) -> Path:
    """An XDG runtime directory, so that platformdirs does not warn (issue 15)."""
    path = tmp_path / "xdg"
    path.mkdir(mode=0o700, exist_ok=True)
    return path


# -- names read from files and catalogs: quoted identifiers ----------------------------------


def test_a_relation_named_like_sql_is_exported_as_an_identifier(tmp_path):
    """The snapshot export creates ``<schema>.<name>`` of each relation of the exposure in the
    snapshot file: a schema and a name like SQL (anyone who controls the dbt project or the
    warehouse could) become a table of exactly that name; nothing of them is executed. (Before
    issue 14 a serving file's name was executed; the snapshot is now one DuckDB file.)"""
    from adw_assets.lib.serving import SNAPSHOT_DB, Mart, export_snapshot
    from adw_assets.lib.warehouse.interface import DuckDBWarehouse

    schema = 'm"; create table injected_schema as select 1; --'
    name = 'x" as select 42; create table injected as select 1 as v; --'
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as con:
        q = chr(34)
        con.execute(f'create schema "{schema.replace(q, q * 2)}"')
        con.execute(
            f'create table "{schema.replace(q, q * 2)}"."{name.replace(q, q * 2)}" as select 1 as a'
        )
    semantic = tmp_path / "semantic_manifest.json"
    semantic.write_text('{"semantic_models": [], "metrics": []}')
    with DuckDBWarehouse(path) as wh:
        exported = export_snapshot(
            wh, [Mart(name, schema, ("a",), "run adw build")], tmp_path / "serving", semantic
        )
    assert exported["marts"][name]["rows"] == 1
    with duckdb.connect(str(tmp_path / "serving" / SNAPSHOT_DB), read_only=True) as con:
        tables = con.execute(
            "select table_schema, table_name from information_schema.tables "
            "where table_schema not in ('_adw')"
        ).fetchall()
    assert tables == [(schema, name)]


def test_the_raw_prefix_is_quoted_where_the_event_generator_reads_the_warehouse(adw_home):
    """``lib/events/reference.py`` reads customers and prices from ``<ADW_RAW_PREFIX>sales``
    etc.: the prefix is spliced as a quoted identifier (a prefix that bypassed the settings'
    pattern is read as a name, never as SQL)."""
    from adw_assets.lib.events.reference import load_reference

    prefix = 'we"ird_'
    settings = get_settings().model_copy(update={"raw_prefix": prefix})
    settings.duckdb_path.parent.mkdir(parents=True, exist_ok=True)
    q = {s: '"' + (prefix + s).replace('"', '""') + '"' for s in ("sales", "person", "production")}
    with duckdb.connect(str(settings.duckdb_path)) as con:
        for schema in q.values():
            con.execute(f"create schema {schema}")
        con.execute(
            f"create table {q['person']}.stateprovince as "
            "select 1 as territoryid, 'FR' as countryregioncode"
        )
        con.execute(
            f"create table {q['person']}.countryregion as "
            "select 'FR' as countryregioncode, 'France' as name"
        )
        con.execute(
            f"create table {q['sales']}.customer as "
            "select 11 as customerid, 1 as territoryid, 5 as personid"
        )
        con.execute(
            f"create table {q['production']}.product as select 1 as productid, 9.5 as listprice"
        )
    ref = load_reference(settings)
    assert ref.origin == "warehouse"
    assert ref.customers == ((11, "France"),) and ref.prices == (9.5,)


def test_an_adw_home_with_a_quote_reaches_dbt_as_a_path(adw_home, tmp_path, monkeypatch):
    """The landing zone's path is a SQL string literal in the dbt source `web.events`
    (`read_parquet('...')`): a home such as /home/o'brien must be read as that path."""
    from adw_assets.lib.dbt import run_dbt
    from adw_assets.lib.events import burst

    home = tmp_path / "o'brien's adw"
    monkeypatch.setenv("ADW_HOME", str(home))
    get_settings.cache_clear()
    settings = get_settings()
    settings.ensure_dirs()
    landed = burst(40, seed=3)
    assert landed["accepted"] == 40, landed
    run_dbt(["run", "--select", "stg_web__events"], settings=settings, target_path=tmp_path / "t")
    with duckdb.connect(str(settings.duckdb_path), read_only=True) as con:
        count = con.execute("select count(*) from staging.stg_web__events").fetchall()[0][0]
    assert count == 40
