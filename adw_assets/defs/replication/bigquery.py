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

from adw_assets.defs.replication.checks import Warehouse, check_specs, selected_results
from adw_assets.defs.replication.resources import ReplicationResource
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


def bigquery_warehouse(client: bigquery.Client) -> Warehouse:
    return Warehouse(
        exists=lambda dataset, table: bq.table_exists(client, dataset, table),
        first_row=lambda query: tuple(bq.run(client, query)[0]),
        table=lambda dataset, table: bq.table_ref(client.project, dataset, table),
        quote=bq.quote,
        extra_metadata=lambda dataset, table: _last_modified(client, dataset, table),
    )


def build_bigquery_replication_checks(prefix: str) -> dg.AssetChecksDefinition:
    """The replication checks (same names as on DuckDB), as BigQuery queries."""

    @dg.multi_asset_check(name="replication_checks", specs=check_specs(prefix), can_subset=True)
    def replication_checks(
        context: dg.AssetCheckExecutionContext,
        replication: ReplicationResource,
        bigquery: AdwBigQueryResource,
    ) -> Iterator[dg.AssetCheckResult]:
        selected = context.selected_asset_check_keys
        with bigquery.get_client() as client, psycopg.connect(replication.source_dsn()) as conn:
            yield from selected_results(bigquery_warehouse(client), conn, prefix, selected)

    return replication_checks


def bigquery_checks_defs() -> dg.Definitions:
    """Checks and the ``bigquery`` resource of the replication domain on BigQuery."""
    prefix = get_settings().raw_prefix
    return dg.Definitions(
        asset_checks=[build_bigquery_replication_checks(prefix)],
        resources={RESOURCE_KEY: bigquery_resource()},
    )
