"""Where accepted web events are stored, as the sensor and the dead-letter check see it.

With the DuckDB warehouse, `adw events stream` lands Parquet micro-batches in the landing zone
(dbt reads them in place); with BigQuery it streams them into the table
``<ADW_RAW_PREFIX>web.events``. Both answer the same three questions, from metadata only (file
listings; BigQuery's ``tables.get``, free): when did events last arrive, how many are held,
and what to record on the ``web/events`` materialization.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

from adw_assets.lib.events.bigquery_sink import TABLE, events_dataset
from adw_assets.lib.events.config import EventsConfig, events_config
from adw_assets.lib.events.status import landing_status, newest_batch_mtime
from adw_assets.lib.warehouse import bigquery as bq
from adw_assets.settings import Settings, get_settings


class EventStore(ABC):
    """The accepted web events, wherever the warehouse keeps them."""

    @property
    @abstractmethod
    def where(self) -> str:
        """Where they are, for people: the landing zone's folder or the table's id."""

    @abstractmethod
    def newest_change(self) -> float | None:
        """When events last arrived (epoch seconds), or ``None`` when none ever did."""

    @abstractmethod
    def accepted_events(self) -> int: ...

    @abstractmethod
    def metadata(self) -> dict[str, Any]:
        """What a materialization of ``web/events`` records (counts, sizes, newest arrival)."""


class LandingZone(EventStore):
    """The Parquet landing zone under ``$ADW_HOME/events/landing`` (DuckDB warehouse)."""

    def __init__(self, cfg: EventsConfig) -> None:
        self.cfg = cfg

    @property
    def where(self) -> str:
        return f"landing zone {self.cfg.landing_dir}"

    def newest_change(self) -> float | None:
        return newest_batch_mtime(self.cfg)

    def accepted_events(self) -> int:
        return landing_status(self.cfg).events

    def metadata(self) -> dict[str, Any]:
        status = landing_status(self.cfg)
        return {
            "events": status.events,
            "files": status.files,
            "event_dates": len(status.partitions),
            "newest_batch_at": status.newest_batch_at,
        }


class BigQueryEventTable(EventStore):
    """The table ``<ADW_RAW_PREFIX>web.events`` filled by streaming inserts (BigQuery)."""

    def __init__(self, client: Callable[[], AbstractContextManager], project: str) -> None:
        self.client = client
        """Opens a ``google.cloud.bigquery.Client`` (a context manager)."""
        self.project = project
        self.dataset = events_dataset()

    @property
    def where(self) -> str:
        return f"BigQuery table {bq.table_id(self.project, self.dataset, TABLE)}"

    def _facts(self) -> bq.TableFacts | None:
        with self.client() as client:
            return bq.table_facts(client, self.dataset, TABLE)

    def newest_change(self) -> float | None:
        facts = self._facts()
        if facts is None:
            return None
        # streamed rows show in the buffer before the table's modification time moves
        stamps = [t for t in (facts.modified, facts.oldest_streaming_entry) if t is not None]
        return max(t.timestamp() for t in stamps) if stamps else None

    def accepted_events(self) -> int:
        facts = self._facts()
        return facts.rows + facts.streaming_rows if facts else 0

    def metadata(self) -> dict[str, Any]:
        facts = self._facts()
        if facts is None:
            return {"events": 0}
        newest = [t for t in (facts.modified, facts.oldest_streaming_entry) if t is not None]
        return {
            "events": facts.rows + facts.streaming_rows,
            "streaming_buffer_rows": facts.streaming_rows,
            "bytes": facts.bytes,
            "newest_batch_at": max(newest).timestamp() if newest else None,
        }


def event_store(settings: Settings | None = None) -> EventStore:
    """The store of these settings' warehouse, without Dagster (for the `adw events`
    commands); Dagster's assets and checks get theirs from ``WarehouseResource.web_events``."""
    settings = settings or get_settings()
    if settings.warehouse == "bigquery":
        config = bq.bigquery_config(settings)

        @contextmanager
        def client() -> Iterator:
            made = bq.make_client(config)
            try:
                yield made
            finally:
                made.close()

        return BigQueryEventTable(client, config.project)
    return LandingZone(events_config())
