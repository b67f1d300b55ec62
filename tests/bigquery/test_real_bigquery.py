"""Against real BigQuery: runs only with credentials and a scratch project, else skips.

    ADW_TEST_BIGQUERY_PROJECT=<project> GOOGLE_APPLICATION_CREDENTIALS=<key.json> \\
        .venv/bin/pytest -m bigquery tests/bigquery/test_real_bigquery.py

It replicates a small seed into datasets with a unique prefix (deleted afterwards) and checks
what the emulator cannot show: the final and raw tables are partitioned and clustered as
Airbyte makes them, and the numeric/datetime types are BigQuery's.
"""

from __future__ import annotations

import os
import uuid
from datetime import date

import pytest

from adw_assets.lib.replication import replicate_from_settings
from adw_assets.lib.source.seed import seed_database
from adw_assets.lib.warehouse import bigquery as bq
from adw_assets.settings import get_settings

pytestmark = pytest.mark.bigquery

PROJECT = os.environ.get("ADW_TEST_BIGQUERY_PROJECT", "")  # read before adw_home clears ADW_*


def _credentials_or_skip() -> None:
    if not PROJECT:
        pytest.skip("set ADW_TEST_BIGQUERY_PROJECT (a scratch project) to test real BigQuery")
    try:
        import google.auth

        google.auth.default()
    except Exception as exc:
        pytest.skip(
            f"no Google credentials ({exc}); set GOOGLE_APPLICATION_CREDENTIALS to a key file "
            "or run `gcloud auth application-default login` to test real BigQuery"
        )


@pytest.fixture
def real_bigquery(source_db, monkeypatch):
    _credentials_or_skip()
    prefix = f"adwtest_{uuid.uuid4().hex[:8]}_"
    monkeypatch.setenv("ADW_WAREHOUSE", "bigquery")
    monkeypatch.setenv("ADW_BQ_PROJECT", PROJECT)
    monkeypatch.setenv("ADW_RAW_PREFIX", prefix)
    get_settings.cache_clear()
    client = bq.make_client()
    yield client, prefix
    for dataset in list(client.list_datasets()):
        if dataset.dataset_id.startswith(prefix):
            client.delete_dataset(dataset.reference, delete_contents=True, not_found_ok=True)
    internal = bq.table_ref(PROJECT, "airbyte_internal", "_adw_state")
    bq.run(client, f"delete from {internal} where starts_with(namespace, '{prefix}')")
    for table in client.list_tables("airbyte_internal"):
        if table.table_id.startswith(prefix):
            client.delete_table(table.reference, not_found_ok=True)


def test_real_bigquery_tables_are_partitioned_clustered_and_typed(source_db, real_bigquery):
    client, prefix = real_bigquery
    seed_database(source_db, scale=0.01, seed=3, today=date(2026, 1, 15), progress=print)
    result = replicate_from_settings(get_settings(), streams=["salesorderdetail", "customer"])
    assert result.ok, result.failed
    facts = bq.table_facts(client, prefix + "sales", "salesorderdetail")
    assert facts.partitioning == "_airbyte_extracted_at"
    assert facts.clustering == ("salesorderid", "salesorderdetailid", "_airbyte_extracted_at")
    columns = bq.table_columns(client, prefix + "sales", "salesorderdetail")
    assert columns["unitprice"] == "NUMERIC" and columns["modifieddate"] == "DATETIME"
    assert columns["_airbyte_meta"] == "JSON"
    assert facts.rows == result["salesorderdetail"].rows_inserted
