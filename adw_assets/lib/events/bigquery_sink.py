"""The production path of web events: streaming inserts into BigQuery (``ADW_WAREHOUSE=bigquery``).

Accepted events go to the table ``<ADW_RAW_PREFIX>web.events`` (the dbt source ``web.events``)
by ``tabledata.insertAll`` with ``insertId = event_id``: BigQuery drops a row whose insertId it
saw in the last minute or so (best effort), and dbt removes any duplicate that gets through
(``stg_web__events`` per day, ``fct_web_events`` across days). Dead letters stay local, in
``$ADW_HOME/events/dead_letter`` as with DuckDB, and the checkpoints too: a batch interrupted
by a crash is re-produced identically and re-inserted with the same insertIds.

The table is partitioned by ``event_date`` (the incremental model and the reports read recent
days only) and clustered by ``event_id`` (the model's dedupe and merge key).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

from adw_assets.errors import AdwError
from adw_assets.lib.events.config import EventsConfig
from adw_assets.lib.events.landing import write_batch
from adw_assets.lib.events.schema import FIELDS
from adw_assets.lib.events.validate import Validated
from adw_assets.lib.warehouse import bigquery as bq
from adw_assets.settings import Settings, get_settings

TABLE = "events"
CHUNK_ROWS = 500
"""Rows per insertAll request (BigQuery's recommended maximum; requests stay far below 10 MB)."""
INSERT_DEADLINE_SECONDS = 120.0

# (name, BigQuery type, required): the landing zone's Parquet columns plus event_date
COLUMNS: tuple[tuple[str, str, bool], ...] = (
    ("event_id", "STRING", True),
    ("timestamp", "TIMESTAMP", True),
    ("event_date", "DATE", True),
    ("session_id", "STRING", True),
    ("user_id", "INT64", False),
    ("page_url", "STRING", True),
    ("referrer_url", "STRING", False),
    ("ip_address", "STRING", True),
    ("user_agent", "STRING", True),
    ("device_type", "STRING", True),
    ("duration", "FLOAT64", True),
    ("country", "STRING", True),
    ("order_value", "FLOAT64", True),
    ("_ingested_at", "TIMESTAMP", True),
    ("_batch_id", "STRING", True),
)


def events_dataset(settings: Settings | None = None) -> str:
    return (settings or get_settings()).raw_prefix + "web"


def ensure_table(client, dataset: str, location: str) -> None:
    """Create the dataset and the partitioned, clustered events table unless they exist."""
    from google.cloud import bigquery

    bq.ensure_dataset(client, dataset, location)
    schema = [
        bigquery.SchemaField(name, kind, mode="REQUIRED" if required else "NULLABLE")
        for name, kind, required in COLUMNS
    ]
    table = bigquery.Table(bq.table_id(client.project, dataset, TABLE), schema=schema)
    table.time_partitioning = bigquery.TimePartitioning(field="event_date")
    table.clustering_fields = ["event_id"]
    table.description = "Web events streamed by adw (insertId = event_id); see docs/events.md."
    client.create_table(table, exists_ok=True)


def _iso(us: int) -> str:
    return datetime.fromtimestamp(us / 1_000_000, UTC).isoformat(timespec="microseconds")


def to_rows(validated: Validated, ingested_at: float, batch_id: str) -> list[dict]:
    """The accepted events as insertAll rows (JSON values BigQuery parses per column)."""
    cols = validated.columns
    ingested = datetime.fromtimestamp(ingested_at, UTC).isoformat(timespec="microseconds")
    rows = []
    for i in range(validated.accepted):
        row = {name: cols[name][i] for name in FIELDS}
        ts = cols["timestamp"][i]
        row["timestamp"] = _iso(ts)
        row["event_date"] = _iso(ts)[:10]
        row["_ingested_at"] = ingested
        row["_batch_id"] = batch_id
        rows.append(row)
    return rows


@dataclass
class InsertStats:
    rows: int = 0
    requests: int = 0


def insert_rows(client, dataset: str, rows: list[dict], stats: InsertStats | None = None) -> None:
    """Stream the rows with ``insertId = event_id``, :data:`CHUNK_ROWS` per request.

    Raises :class:`AdwError` naming the first rejected row when BigQuery rejects any.
    """
    from google.cloud.bigquery import DEFAULT_RETRY

    table = bq.table_id(client.project, dataset, TABLE)
    retry = DEFAULT_RETRY.with_deadline(INSERT_DEADLINE_SECONDS)
    for start in range(0, len(rows), CHUNK_ROWS):
        chunk = rows[start : start + CHUNK_ROWS]
        errors = client.insert_rows_json(
            table, chunk, row_ids=[r["event_id"] for r in chunk], retry=retry
        )
        if stats is not None:
            stats.requests += 1
            stats.rows += len(chunk)
        if errors:
            first = errors[0]
            event = chunk[first.get("index", 0)].get("event_id")
            raise AdwError(
                f"BigQuery rejected {len(errors)} of {len(chunk)} streamed events in {table} "
                f"(first: event {event}: {first.get('errors')}). Check that the table's "
                "schema matches adw's (adw_assets/lib/events/bigquery_sink.py); the batch "
                "stays pending and is re-sent, with the same insertIds, on the next run."
            )


BatchWriter = Callable[[EventsConfig, str, int, Validated, float], list]


def bigquery_batch_writer(client=None, settings: Settings | None = None) -> BatchWriter:
    """A drop-in for :func:`adw_assets.lib.events.landing.write_batch` that streams the
    accepted events to BigQuery and writes the dead letters locally. Creates the table."""
    settings = settings or get_settings()
    config = bq.bigquery_config(settings)
    client = client or bq.make_client(config)
    dataset = events_dataset(settings)
    ensure_table(client, dataset, config.location)
    target = f"bigquery:{bq.table_id(client.project, dataset, TABLE)}"

    def write(cfg: EventsConfig, source: str, seq_start: int, validated: Validated,
              ingested_at: float) -> list:  # fmt: skip
        written: list = []
        if validated.accepted:
            rows = to_rows(validated, ingested_at, f"{source}:{seq_start}")
            insert_rows(client, dataset, rows)
            written.append(Path(target))
        if validated.dead:  # dead letters only: an empty accepted set writes no Parquet
            empty = replace(validated, columns={name: [] for name in FIELDS})
            written.extend(write_batch(cfg, source, seq_start, empty, ingested_at))
        return written

    return write
