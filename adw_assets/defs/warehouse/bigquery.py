"""The BigQuery warehouse resource (``ADW_WAREHOUSE=bigquery``), in its own module so that the
DuckDB default never imports google-cloud-bigquery, dagster-gcp and pandas."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from dagster_gcp import BigQueryResource
from google.cloud import bigquery

from adw_assets.defs.warehouse.resources import WarehouseResource
from adw_assets.lib.events.store import BigQueryEventTable, EventStore
from adw_assets.lib.replication import BigQueryDestination, Destination
from adw_assets.lib.warehouse import bigquery as bq
from adw_assets.lib.warehouse.interface import BigQueryWarehouse, Warehouse


class BigQueryWarehouseResource(BigQueryResource, WarehouseResource):
    """dagster-gcp's ``BigQueryResource`` (Application Default Credentials, or
    ``gcp_credentials``) plus an optional API endpoint: a BigQuery API emulator in tests."""

    endpoint: str | None = None
    """Base URL of a BigQuery API emulator (``ADW_BQ_ENDPOINT``); unset for Google's API."""

    @property
    def kind(self) -> str:
        return "bigquery"

    @contextmanager
    def get_client(self) -> Iterator[bigquery.Client]:
        if not self.endpoint:
            with super().get_client() as client:
                yield client
            return
        config = bq.BigQueryConfig(self.project or "", self.location or "US", self.endpoint)
        client = bq.make_client(config)
        try:
            yield client
        finally:
            client.close()

    @contextmanager
    def open(self) -> Iterator[Warehouse]:
        with self.get_client() as client:
            yield BigQueryWarehouse(client)

    @contextmanager
    def destination(self, memory_limit: str) -> Iterator[Destination]:
        with self.get_client() as client:
            yield BigQueryDestination(client, location=self.location or bq.DEFAULT_LOCATION)

    def web_events(self) -> EventStore:
        return BigQueryEventTable(self.get_client, self.project or "")
