"""The replication domain on BigQuery (``ADW_WAREHOUSE=bigquery``): the dagster-gcp resource and
the replication checks run as BigQuery queries.

The replicated tables themselves are the same assets whichever warehouse: the embedded
replicator's multi-asset writes BigQuery through ``replicate_from_settings`` (see
``adw_assets/lib/replication/bigquery_engine.py``), and with ``ADW_REPLICATION=airbyte``
dagster-airbyte syncs the connection into BigQuery. The checks keep their names; each result
also carries the table's last modification time from its metadata (free: no query).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from functools import cache

import dagster as dg
import psycopg
from dagster_gcp import BigQueryResource
from google.cloud import bigquery
from psycopg import sql

from adw_assets.defs.replication.assets import replicated_key
from adw_assets.defs.replication.checks import PRIMARY_KEY, ROW_COUNT, check_specs
from adw_assets.defs.replication.resources import ReplicationResource
from adw_assets.lib.source.catalog import TABLES, SourceTable
from adw_assets.lib.warehouse import bigquery as bq
from adw_assets.settings import get_settings

RESOURCE_KEY = "bigquery"


class AdwBigQueryResource(BigQueryResource):
    """dagster-gcp's ``BigQueryResource`` plus an optional API endpoint (an emulator in tests).

    Without ``endpoint`` it is dagster-gcp's resource as is: Application Default Credentials
    (``GOOGLE_APPLICATION_CREDENTIALS`` or the machine's identity), or ``gcp_credentials``.
    """

    endpoint: str | None = None
    """Base URL of a BigQuery API emulator (``ADW_BQ_ENDPOINT``); unset for Google's API."""

    @contextmanager
    def get_client(self) -> Iterator[bigquery.Client]:
        if not self.endpoint:
            with super().get_client() as client:
                yield client
            return
        config = bq.BigQueryConfig(self.project or "", self.location or "US", self.endpoint)
        yield bq.make_client(config)


def bigquery_resource() -> AdwBigQueryResource:
    """The resource from the ``ADW_BQ_*`` settings (one instance per configuration, so the
    domains that need it merge into one ``bigquery`` resource)."""
    return _resource(bq.bigquery_config())


@cache
def _resource(config: bq.BigQueryConfig) -> AdwBigQueryResource:
    return AdwBigQueryResource(
        project=config.project, location=config.location, endpoint=config.endpoint
    )


def _last_modified(client: bigquery.Client, dataset: str, table: str) -> dict:
    facts = bq.table_facts(client, dataset, table)
    if facts is None or facts.modified is None:
        return {}
    age = (datetime.now(UTC) - facts.modified).total_seconds() / 60
    return {
        "last_modified": dg.MetadataValue.timestamp(facts.modified),
        "minutes_since_modified": round(age, 1),
    }


def _row_count(client, conn, prefix: str, t: SourceTable, key) -> dg.AssetCheckResult:
    name, dataset = f"{t.name}_{ROW_COUNT}", prefix + t.schema
    source = conn.execute(
        sql.SQL("select count(*) from {}").format(sql.Identifier(t.schema, t.name))
    ).fetchone()[0]
    if not bq.table_exists(client, dataset, t.name):
        return dg.AssetCheckResult(
            asset_key=key, check_name=name, passed=False,
            metadata={"source_rows": source, "reason": "not replicated yet"},
        )  # fmt: skip
    table = bq.table_ref(client.project, dataset, t.name)
    rows = bq.run(client, f"select count(*) from {table}")[0][0]
    meta = {"source_rows": source, "warehouse_rows": rows, "difference": rows - source}
    if rows > source:
        meta["explanation"] = (
            f"{rows - source} row(s) deleted in the source are still in the warehouse: "
            "cursor-based replication cannot see hard deletes; a full refresh removes them."
        )
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=name,
        passed=rows == source,
        severity=dg.AssetCheckSeverity.WARN if rows > source else dg.AssetCheckSeverity.ERROR,
        metadata={**meta, **_last_modified(client, dataset, t.name)},
    )


def _primary_key(client, prefix: str, t: SourceTable, key) -> dg.AssetCheckResult:
    name, dataset = f"{t.name}_{PRIMARY_KEY}", prefix + t.schema
    if not bq.table_exists(client, dataset, t.name):
        return dg.AssetCheckResult(
            asset_key=key, check_name=name, passed=False, metadata={"reason": "no table"}
        )
    pk = ", ".join(bq.quote(c) for c in t.primary_key)
    nulls = " or ".join(f"{bq.quote(c)} is null" for c in t.primary_key)
    table = bq.table_ref(client.project, dataset, t.name)
    dupes, null_rows = bq.run(
        client,
        f"select (select count(*) from (select {pk} from {table} group by {pk} "
        f"having count(*) > 1)), (select count(*) from {table} where {nulls})",
    )[0]
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=name,
        passed=dupes == 0 and null_rows == 0,
        metadata={"duplicate_keys": dupes, "null_keys": null_rows},
    )


def build_bigquery_replication_checks(prefix: str) -> dg.AssetChecksDefinition:
    """The replication checks (same names as on DuckDB), as BigQuery queries."""
    by_key = {replicated_key(prefix, t.schema, t.name): t for t in TABLES}

    @dg.multi_asset_check(name="replication_checks", specs=check_specs(prefix), can_subset=True)
    def replication_checks(
        context: dg.AssetCheckExecutionContext,
        replication: ReplicationResource,
        bigquery: AdwBigQueryResource,
    ) -> Iterator[dg.AssetCheckResult]:
        selected = context.selected_asset_check_keys
        with bigquery.get_client() as client, psycopg.connect(replication.source_dsn()) as conn:
            for key, t in by_key.items():
                if dg.AssetCheckKey(key, f"{t.name}_{ROW_COUNT}") in selected:
                    yield _row_count(client, conn, prefix, t, key)
                if dg.AssetCheckKey(key, f"{t.name}_{PRIMARY_KEY}") in selected:
                    yield _primary_key(client, prefix, t, key)

    return replication_checks


def bigquery_checks_defs() -> dg.Definitions:
    """Checks and the ``bigquery`` resource of the replication domain on BigQuery."""
    prefix = get_settings().raw_prefix
    return dg.Definitions(
        asset_checks=[build_bigquery_replication_checks(prefix)],
        resources={RESOURCE_KEY: bigquery_resource()},
    )
