"""The BigQuery destination (``ADW_WAREHOUSE=bigquery``), for teams that run production without
Airbyte: staging load jobs and one transaction per stream (see :mod:`bigquery_load`).

A run creates the namespaces' datasets and ``airbyte_internal`` (in ``location``) and the state
table, and reads every stream's state; the streams then load through one shared client.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from adw_assets.lib.replication.bigquery_load import BigQueryStreamLoad, bq_type_of
from adw_assets.lib.replication.destination import LoadPlan
from adw_assets.lib.replication.state import (
    CDC_COLUMNS,
    CDC_STATE_TABLE,
    INTERNAL_SCHEMA,
    STATE_TABLE,
    States,
    load_states,
)
from adw_assets.lib.warehouse import bigquery as bq


class BigQueryDestination:
    """Replicate into the project of ``client`` (see
    :func:`adw_assets.lib.warehouse.bigquery.make_client`), creating datasets in ``location``."""

    name = "BigQuery"

    def __init__(self, client, *, location: str = bq.DEFAULT_LOCATION) -> None:
        self.client, self.location = client, location

    @contextmanager
    def open_run(self, namespaces: list[str], workers: int) -> Iterator[BigQueryRun]:
        for dataset in sorted({INTERNAL_SCHEMA, *namespaces}):
            bq.ensure_dataset(self.client, dataset, self.location)
        table = bq.table_ref(self.client.project, INTERNAL_SCHEMA, STATE_TABLE)
        states = load_states(lambda sql: bq.run(self.client, sql), table, bq_type_of)
        yield BigQueryRun(self.client, states)


class BigQueryRun:
    """BigQuery prepared for one run: the states and the client the streams load through."""

    def __init__(self, client, states: States) -> None:
        self.client, self.states = client, states

    def cdc_states(self) -> dict[tuple[str, str], int]:
        """CDC: every stream's applied LSN, keyed by (namespace, name); creates the table."""
        table = bq.table_ref(self.client.project, INTERNAL_SCHEMA, CDC_STATE_TABLE)
        cols = ", ".join(f"{n} {bq_type_of(t)}" for n, t in CDC_COLUMNS)
        bq.run(self.client, f"create table if not exists {table} ({cols})")
        rows = bq.run(self.client, f"select namespace, name, lsn from {table}")
        return {(r[0], r[1]): int(r[2]) for r in rows}

    def stream(self, plan: LoadPlan) -> BigQueryStreamLoad:
        return BigQueryStreamLoad(self.client, plan)

    def explain(self, stream: str, exc: Exception) -> None:
        """BigQuery's errors are reported as the engine words them."""
        return None
