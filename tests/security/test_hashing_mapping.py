"""Airbyte's hashing mapping in the embedded replicator (``ADW_REPLICATION_MAPPINGS``).

The journeys a user types: ``adw replicate`` then ``adw build`` on a seeded source, in
subprocesses, with the mapping on (no card number in clear anywhere in the warehouse, the
landed column is Airbyte's hash, dbt builds every model) and off (as before); a bad mapping
stops ``adw`` with one line; turning the mapping on for a stream replicated in clear is refused
until a full refresh.
"""

from __future__ import annotations

import functools
import hashlib
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import psycopg
import pytest

from adw_assets.errors import ConfigError
from adw_assets.lib.mappings import Hashing, load
from adw_assets.lib.replication import DuckDBDestination, replicate
from tests.lib.replication import fixtures
from tests.support.live_dagster import adw_env

ADW = Path(sys.executable).with_name("adw")
SALT = "test-salt-hashing"


def mapping(stream: str = "creditcard", field: str = "cardnumber", **config) -> dict:
    """Airbyte's connection ``configurations`` with one hashing mapper on ``sales.<stream>``."""
    config = {"targetField": field, "method": "SHA-256", "fieldNameSuffix": "_hashed", **config}
    mapper = {"type": "hashing", "mapperConfiguration": config}
    return {"streams": [{"name": stream, "namespace": "sales", "mappers": [mapper]}]}


CARD_MAPPING = mapping()


seeded_template = fixtures.seeded_template  # the shared seeded source (a fixture)
replica_source = fixtures.replica_source


@pytest.fixture
def source(replica_source) -> str:
    """A fresh copy of the seeded source; its owner's DSN."""
    return replica_source


def adw(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ADW), *args], env=env, capture_output=True, text=True, timeout=900, check=False
    )


def cards(dsn: str) -> dict[int, str]:
    with psycopg.connect(dsn) as conn:
        return dict(conn.execute("select creditcardid, cardnumber from sales.creditcard"))


def clear_hits(path: Path, numbers: set[str], min_columns: int = 1) -> list[str]:
    """``schema.table.column`` of every warehouse column (any type, raw history STRUCTs and
    JSON included, as text) whose value contains one of ``numbers``."""
    con = duckdb.connect()
    try:
        con.execute(f"attach '{path}' as wh (read_only)")
        con.execute("create temp table numbers (n varchar)")
        con.executemany("insert into numbers values (?)", [[n] for n in numbers])
        columns = con.execute(
            "select c.schema_name, c.table_name, c.column_name from duckdb_columns() c "
            "join duckdb_tables() t using (database_name, schema_name, table_name) "
            "where c.database_name = 'wh' order by all"
        ).fetchall()
        assert len(columns) >= min_columns, "every column of every table of the warehouse"
        hits = []
        for schema, table, column in columns:
            (found,) = con.execute(
                f'select count(*) from wh."{schema}"."{table}" t, numbers '
                f'where contains(cast(t."{column}" as varchar), numbers.n)'
            ).fetchone()
            if found:
                hits.append(f"{schema}.{table}.{column}")
        return hits
    finally:
        con.close()


def query(path: Path, sql: str) -> list[tuple]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


@pytest.mark.slow
@pytest.mark.parametrize("mapping", ["on", "off"])
def test_replicate_then_build_with_and_without_the_mapping(source, tmp_path, mapping):
    env = adw_env(tmp_path / "home", source)
    env["ADW_CARD_HASH_SALT"] = SALT
    env["ADW_REPLICATION_RAW_HISTORY"] = "true"  # the raw history must not hold it either
    if mapping == "on":  # Airbyte's own JSON, from a file, as pasted into the connection
        (tmp_path / "mappings.json").write_text(json.dumps(CARD_MAPPING))
        env["ADW_REPLICATION_MAPPINGS"] = str(tmp_path / "mappings.json")
    replicated = adw(env, "replicate")
    assert replicated.returncode == 0, replicated.stderr
    built = adw(env, "build")
    assert built.returncode == 0, built.stdout + built.stderr
    assert "ERROR" not in built.stdout

    wh = tmp_path / "home" / "warehouse.duckdb"
    numbers = cards(source)
    columns = query(
        wh,
        "select column_name from information_schema.columns where table_schema = 'raw_sales' "
        "and table_name = 'creditcard' order by ordinal_position",
    )
    final = [c for (c,) in columns]
    landed = query(wh, "select * from marts.dim_credit_cards order by credit_card_id")
    if mapping == "off":  # as before: the number in raw_sales, last four and salted hash derived
        assert "cardnumber" in final and "cardnumber_hashed" not in final
        assert clear_hits(wh, set(numbers.values()), min_columns=200) == [
            "airbyte_internal.raw_sales_raw__stream_creditcard._airbyte_data",
            "raw_sales.creditcard.cardnumber",
        ]
        assert all(row[2] == numbers[row[0]][-4:] for row in landed)
        return

    # Airbyte's layout: the hashed field takes the original's place, the original is gone
    assert final[final.index("creditcardid") :] == [
        "creditcardid", "cardtype", "cardnumber_hashed", "expmonth", "expyear", "modifieddate",
    ]  # fmt: skip
    assert clear_hits(wh, set(numbers.values()), min_columns=200) == []
    sha = Hashing("sales.creditcard", "cardnumber", "SHA-256")
    expected = {i: hashlib.sha256(n.encode()).hexdigest() for i, n in numbers.items()}
    assert {i: sha.hexdigest(n) for i, n in numbers.items()} == expected
    assert dict(query(wh, "select creditcardid, cardnumber_hashed from raw_sales.creditcard")) == (
        expected
    )
    raw = query(
        wh,
        "select _airbyte_data.creditcardid, _airbyte_data.cardnumber_hashed "
        "from airbyte_internal.raw_sales_raw__stream_creditcard",
    )
    assert dict(raw) == expected and len(raw) == len(numbers)
    # dbt built every model: the last four are unknown, the hash is salted again
    assert len(landed) == len(numbers)
    for card_id, _type, last_four, masked, digest, *_ in landed:
        assert last_four is None and masked is None
        assert digest == hashlib.sha256((SALT + expected[card_id]).encode()).hexdigest()


BAD = {
    "unknown stream": (
        {"streams": [{"name": "creditcards", "namespace": "sales", "mappers": []}]},
        "stream 'sales.creditcards' is not a replicated stream",
    ),
    "unknown method": (
        mapping(method="SHA256"),
        "unknown method 'SHA256'; use one of MD5, SHA-224, SHA-256, SHA-384, SHA-512",
    ),
    "broken method": (mapping(method="SHA-1"), "method 'SHA-1' is a broken digest"),
    "not hashing": (
        {"streams": [{"name": "creditcard", "namespace": "sales", "mappers": [
            {"type": "encryption", "mapperConfiguration": {"targetField": "cardnumber"}}]}]},
        "type 'encryption' is not supported",
    ),
    "no suffix": (mapping(fieldNameSuffix=""), "fieldNameSuffix must be a non-empty text"),
    "not JSON": ("{streams: creditcard}", "is not valid JSON"),
    "no file": ("./no-such-mappings.json", "cannot be read as a file"),
}  # fmt: skip


@pytest.mark.parametrize("case", BAD)
def test_a_bad_mapping_stops_adw_with_one_line_naming_the_variable(source, tmp_path, case):
    value, said = BAD[case]
    env = adw_env(tmp_path / "home", source)
    env["ADW_REPLICATION_MAPPINGS"] = value if isinstance(value, str) else json.dumps(value)
    proc = adw(env, "replicate", "creditcard")
    assert proc.returncode == 1
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert lines[0].startswith("error: ADW_REPLICATION_MAPPINGS=") and said in lines[0]
    assert not (tmp_path / "home" / "warehouse.duckdb").exists()


def test_a_field_the_source_lacks_fails_the_run_naming_the_variable(source, tmp_path):
    mapping = json.loads(json.dumps(CARD_MAPPING))
    mapping["streams"][0]["mappers"][0]["mapperConfiguration"]["targetField"] = "cardnum"
    env = adw_env(tmp_path / "home", source)
    env["ADW_REPLICATION_MAPPINGS"] = json.dumps(mapping)
    proc = adw(env, "replicate", "creditcard")
    assert proc.returncode == 1
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert errors == [
        "error: replication: ADW_REPLICATION_MAPPINGS: sales.creditcard has no field 'cardnum' to "
        "hash; its fields are creditcardid, cardtype, cardnumber, expmonth, expyear, "
        "modifieddate. Fix targetField (see docs/replication.md, Hashing fields)."
    ], proc.stderr
    assert "Traceback" not in proc.stderr


@pytest.mark.parametrize(
    ("stream", "field", "said"),
    [
        ("creditcard", "creditcardid", "is the stream's primary key or cursor"),
        ("creditcard", "modifieddate", "is the stream's primary key or cursor"),
        ("salesorderheader", "subtotal", "is numeric(19,4); the embedded replicator hashes text"),
    ],
)
def test_fields_adw_cannot_hash_are_refused_before_any_stream_syncs(
    source, tmp_path, stream, field, said
):
    from adw_assets.lib.source.server import dsn_with_user

    bad = mapping(stream, field)
    dest = DuckDBDestination(tmp_path / "wh.duckdb")
    with pytest.raises(ConfigError) as err:
        replicate(dsn_with_user(source, "adw_replicator"), dest, mappings=load(json.dumps(bad)))
    assert str(err.value).startswith("ADW_REPLICATION_MAPPINGS: sales.") and said in str(err.value)
    assert not (tmp_path / "wh.duckdb").exists()  # refused before the warehouse is opened


def test_turning_the_mapping_on_needs_a_full_refresh_then_holds_no_clear_number(source, tmp_path):
    from adw_assets.lib.source.server import dsn_with_user

    dsn, wh = dsn_with_user(source, "adw_replicator"), tmp_path / "wh.duckdb"
    dest = DuckDBDestination(wh)
    on = load(json.dumps(CARD_MAPPING))
    # with the raw history kept: a full refresh does not rewrite its old records
    sync = functools.partial(replicate, dsn, dest, streams=["sales.creditcard"], raw_history=True)
    assert sync().ok  # in clear
    result = sync(mappings=on)
    assert not result.ok
    assert "holds cardnumber in clear" in result["creditcard"].error
    assert "--full-refresh sales.creditcard" in result["creditcard"].error
    assert query(wh, "select count(*) from raw_sales.creditcard where cardnumber is not null")
    # the documented way out: drop the raw history, rebuild the stream
    con = duckdb.connect(str(wh))
    con.execute("drop table airbyte_internal.raw_sales_raw__stream_creditcard")
    con.close()
    assert sync(full_refresh=True, mappings=on).ok
    assert clear_hits(wh, set(cards(source).values())) == []
    assert sync(mappings=on).ok  # incremental
