"""The warehouse as a Dagster resource: one interface, DuckDB or BigQuery behind it.

Every asset, check and sensor that touches the warehouse (replication, its checks, the
web-event sensor and check, the dashboard snapshot) takes ``warehouse: WarehouseResource`` and
is written once; :func:`warehouse_resource` picks the implementation from the settings
(``ADW_WAREHOUSE``). dbt reaches the same warehouse through its profile (``dbt/profiles.yml``).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg

from adw_assets.lib.events.config import events_config
from adw_assets.lib.events.store import EventStore, LandingZone
from adw_assets.lib.replication import Destination, DuckDBDestination
from adw_assets.lib.warehouse.interface import DuckDBWarehouse, Warehouse
from adw_assets.settings import Settings, get_settings

RESOURCE_KEY = "warehouse"

POOL = "warehouse"
"""The Dagster concurrency pool of every op that opens the warehouse. dagster.yaml limits a
pool to one op at a time across runs (DuckDB admits one writing process), so a second writer
waits for the first, whether a job, a sensor, a backfill or a "Materialize" in the UI
launched it."""


class WarehouseResource(dg.ConfigurableResource, ABC):
    """What adw's assets, checks and sensors need of the warehouse."""

    @property
    @abstractmethod
    def kind(self) -> str:
        """``duckdb`` or ``bigquery`` (the Dagster kind tag of the tables it holds)."""

    @abstractmethod
    @contextmanager
    def open(self) -> Iterator[Warehouse]:
        """A connection to read, closed when the block ends."""

    @abstractmethod
    @contextmanager
    def destination(self, memory_limit: str) -> Iterator[Destination]:
        """Where the embedded replicator writes (``memory_limit``: DuckDB's buffer cap)."""

    @abstractmethod
    def web_events(self) -> EventStore:
        """Where `adw events stream` stores the accepted web events."""


class DuckDBWarehouseResource(WarehouseResource):
    """The DuckDB file ``$ADW_HOME/warehouse.duckdb`` (``ADW_DUCKDB_PATH``)."""

    path: str

    @property
    def kind(self) -> str:
        return "duckdb"

    @contextmanager
    def open(self) -> Iterator[Warehouse]:
        with DuckDBWarehouse(self.path) as wh:
            yield wh

    @contextmanager
    def destination(self, memory_limit: str) -> Iterator[Destination]:
        yield DuckDBDestination(self.path, memory_limit=memory_limit)

    def web_events(self) -> EventStore:
        return LandingZone(events_config())


def warehouse_resource(settings: Settings | None = None) -> WarehouseResource:
    """The warehouse of these settings (``ADW_WAREHOUSE``)."""
    settings = settings or get_settings()
    if settings.warehouse == "bigquery":
        # google-cloud-bigquery and dagster-gcp (with pandas) are loaded only for BigQuery:
        # they were a third of every `adw` command's start-up on DuckDB
        from adw_assets.defs.warehouse.bigquery import BigQueryWarehouseResource
        from adw_assets.lib.warehouse import bigquery as bq

        config = bq.bigquery_config(settings)
        return BigQueryWarehouseResource(
            project=config.project, location=config.location, endpoint=config.endpoint
        )
    return DuckDBWarehouseResource(path=str(settings.duckdb_path))
