"""Airbyte's hashing mapping on the BigQuery destination (the emulator): the same engine step as
on DuckDB lands ``cardnumber_hashed`` in the final table and the raw history, never the number;
a table replicated in clear is refused until a full refresh rebuilds it."""

from __future__ import annotations

import hashlib
import json
from datetime import date

import psycopg
import pytest

from adw_assets.lib.replication import replicate_from_settings
from adw_assets.lib.source.seed import seed_database
from adw_assets.lib.warehouse import bigquery as bq
from adw_assets.settings import get_settings
from tests.security.test_hashing_mapping import CARD_MAPPING

pytestmark = pytest.mark.bigquery


@pytest.fixture
def seeded(source_db, bq_warehouse) -> str:
    seed_database(source_db, scale=0.01, seed=11, today=date(2026, 1, 15), progress=lambda _m: None)
    return source_db


def mapping_on(monkeypatch) -> None:
    monkeypatch.setenv("ADW_REPLICATION_MAPPINGS", json.dumps(CARD_MAPPING))
    get_settings.cache_clear()


def card_numbers(dsn: str) -> dict[int, str]:
    with psycopg.connect(dsn) as conn:
        return dict(conn.execute("select creditcardid, cardnumber from sales.creditcard"))


def rows_as_text(client, dataset: str, table: str) -> list[str]:
    ref = bq.table_ref(client.project, dataset, table)
    return [text for (text,) in bq.run(client, f"select to_json_string(t) from {ref} t")]


def test_bigquery_lands_the_hashed_column_and_never_the_number(seeded, bq_client, monkeypatch):
    mapping_on(monkeypatch)
    result = replicate_from_settings(
        get_settings(), streams=["sales.creditcard"], raw_history=True
    )  # the raw JSON must not hold it either
    assert result.ok, result.failed
    columns = bq.table_columns(bq_client, "raw_sales", "creditcard")
    assert "cardnumber" not in columns and columns["cardnumber_hashed"] == "STRING"
    numbers = card_numbers(seeded)
    expected = {i: hashlib.sha256(n.encode()).hexdigest() for i, n in numbers.items()}
    final = bq.table_ref(bq_client.project, "raw_sales", "creditcard")
    landed = bq.run(bq_client, f"select creditcardid, cardnumber_hashed from {final}")
    assert dict(landed) == expected
    raw = rows_as_text(bq_client, "airbyte_internal", "raw_sales_raw__stream_creditcard")
    assert len(raw) == len(numbers)
    # the record's hash is in its raw JSON (the emulator drops the field names of
    # to_json_string(struct(s.col)); BigQuery keeps them)
    assert sorted(h for h in expected.values() if any(h in r for r in raw)) == sorted(
        expected.values()
    )
    for text in raw + rows_as_text(bq_client, "raw_sales", "creditcard"):
        assert not any(n in text for n in numbers.values()), text


def test_bigquery_refuses_a_table_in_clear_until_a_full_refresh(seeded, bq_client, monkeypatch):
    assert replicate_from_settings(get_settings(), streams=["sales.creditcard"]).ok
    mapping_on(monkeypatch)
    result = replicate_from_settings(get_settings(), streams=["sales.creditcard"])
    assert not result.ok and "holds cardnumber in clear" in result["creditcard"].error
    result = replicate_from_settings(
        get_settings(), streams=["sales.creditcard"], full_refresh=True
    )
    assert result.ok, result.failed
    assert "cardnumber" not in bq.table_columns(bq_client, "raw_sales", "creditcard")
    numbers = card_numbers(seeded).values()
    for text in rows_as_text(bq_client, "raw_sales", "creditcard"):
        assert not any(n in text for n in numbers), text
