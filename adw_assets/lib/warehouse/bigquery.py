"""BigQuery warehouse helpers: the client from the settings, identifiers, queries, table facts.

Settings (``ADW_WAREHOUSE=bigquery``; see docs/production.md):

* ``ADW_BQ_PROJECT`` (required): the project holding the datasets and running the jobs;
* ``ADW_BQ_LOCATION`` (default ``US``): where datasets are created and jobs run;
* credentials: Application Default Credentials, i.e. the key file named by
  ``GOOGLE_APPLICATION_CREDENTIALS`` when set, else ``gcloud auth application-default login``
  or the machine's workload identity;
* ``ADW_BQ_ENDPOINT`` (tests, local development): the base URL of a BigQuery API emulator;
  the client then sends anonymous credentials to it.

The replicated namespaces are datasets named as Airbyte names them (``raw_sales``, ...), the
raw history and the replication state live in the dataset ``airbyte_internal``; the dbt models
go to ``${ADW_BQ_DATASET_PREFIX}staging|intermediate|marts`` (dbt/profiles.yml).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from adw_assets.errors import ConfigError
from adw_assets.settings import Settings, get_settings

if TYPE_CHECKING:
    from google.cloud import bigquery

DEFAULT_LOCATION = Settings.model_fields["bq_location"].default
QUERY_TIMEOUT_SECONDS = 900.0


@dataclass(frozen=True)
class BigQueryConfig:
    project: str
    location: str
    endpoint: str | None = None
    """Base URL of a BigQuery API emulator (``ADW_BQ_ENDPOINT``); ``None`` = Google's API."""

    @property
    def emulated(self) -> bool:
        return self.endpoint is not None


def bigquery_config(settings: Settings | None = None) -> BigQueryConfig:
    """Project, location and endpoint from the ``ADW_BQ_*`` settings."""
    settings = settings or get_settings()
    if not settings.bq_project:
        raise ConfigError(
            "ADW_BQ_PROJECT is not set: with ADW_WAREHOUSE=bigquery adw needs the Google Cloud "
            "project that holds the warehouse. Set ADW_BQ_PROJECT (and ADW_BQ_LOCATION, "
            "default US); credentials come from GOOGLE_APPLICATION_CREDENTIALS or ADC."
        )
    return BigQueryConfig(settings.bq_project, settings.bq_location, settings.bq_endpoint)


def make_client(config: BigQueryConfig | None = None) -> bigquery.Client:
    """A ``google.cloud.bigquery.Client`` for the configured project and location.

    Against an emulator: anonymous credentials, the emulator's URL as API endpoint, and the
    generic upload content type ``application/octet-stream`` (the emulator accepts only named
    media types for load-job uploads; BigQuery accepts it too).
    """
    from google.cloud import bigquery

    config = config or bigquery_config()
    if config.emulated:
        import google.cloud.bigquery.client as client_module
        from google.api_core.client_options import ClientOptions
        from google.auth.credentials import AnonymousCredentials

        client_module._GENERIC_CONTENT_TYPE = "application/octet-stream"
        return bigquery.Client(
            project=config.project,
            location=config.location,
            credentials=AnonymousCredentials(),
            client_options=ClientOptions(api_endpoint=config.endpoint),
        )
    try:
        return bigquery.Client(project=config.project, location=config.location)
    except Exception as exc:  # google.auth.exceptions.DefaultCredentialsError and friends
        raise ConfigError(
            f"cannot create a BigQuery client for project {config.project!r}: {exc}. Set "
            "GOOGLE_APPLICATION_CREDENTIALS to a service-account key file, or run "
            "`gcloud auth application-default login`."
        ) from exc


def quote(identifier: str) -> str:
    """A BigQuery identifier in backticks (project, dataset, table or column)."""
    return "`" + identifier.replace("\\", "\\\\").replace("`", "\\`") + "`"


def table_ref(project: str, dataset: str, table: str) -> str:
    """``project.dataset.table`` quoted as one path, for SQL."""
    return quote(f"{project}.{dataset}.{table}")


def table_id(project: str, dataset: str, table: str) -> str:
    """``project.dataset.table`` as the client's API methods take it."""
    return f"{project}.{dataset}.{table}"


def ensure_dataset(client: bigquery.Client, dataset: str, location: str) -> None:
    """Create the dataset in ``location`` unless it exists."""
    from google.cloud import bigquery

    ds = bigquery.Dataset(f"{client.project}.{dataset}")
    ds.location = location
    client.create_dataset(ds, exists_ok=True)


def run(
    client: bigquery.Client,
    sql: str,
    params: Sequence[Any] | None = None,
    *,
    timeout: float = QUERY_TIMEOUT_SECONDS,
) -> list[tuple]:
    """Run a query or script and return its (last statement's) rows as tuples.

    ``params`` are positional ``?`` parameters: ``(name, type, value)`` triples or
    ``bigquery.ScalarQueryParameter`` objects.
    """
    from google.cloud import bigquery

    job_config = bigquery.QueryJobConfig()
    if params:
        job_config.query_parameters = [
            p
            if isinstance(p, bigquery.ScalarQueryParameter)
            else bigquery.ScalarQueryParameter(None, p[1], p[2])
            for p in params
        ]
    job = client.query(sql, job_config=job_config)
    return [tuple(row.values()) for row in job.result(timeout=timeout)]


def table_exists(client: bigquery.Client, dataset: str, table: str) -> bool:
    from google.api_core.exceptions import NotFound

    try:
        client.get_table(table_id(client.project, dataset, table))
    except NotFound:
        return False
    return True


def table_columns(client: bigquery.Client, dataset: str, table: str) -> dict[str, str]:
    """Column name -> BigQuery type (``INT64``, ``NUMERIC``, ...), in table order."""
    schema = client.get_table(table_id(client.project, dataset, table)).schema
    return {f.name: _standard_type(f.field_type) for f in schema}


_LEGACY_TYPES = {
    "INTEGER": "INT64",
    "FLOAT": "FLOAT64",
    "BOOLEAN": "BOOL",
    "RECORD": "STRUCT",
}


def _standard_type(field_type: str) -> str:
    return _LEGACY_TYPES.get(field_type.upper(), field_type.upper())


@dataclass(frozen=True)
class TableFacts:
    """What ``tables.get`` says about a table, without scanning it (free)."""

    rows: int
    bytes: int
    modified: datetime | None
    streaming_rows: int
    """Rows still in the streaming buffer (not in ``rows`` yet)."""
    oldest_streaming_entry: datetime | None
    partitioning: str | None
    clustering: tuple[str, ...]


def table_facts(client: bigquery.Client, dataset: str, table: str) -> TableFacts | None:
    """The table's metadata, or ``None`` when it does not exist."""
    from google.api_core.exceptions import NotFound

    try:
        t = client.get_table(table_id(client.project, dataset, table))
    except NotFound:
        return None
    buffer = t.streaming_buffer
    part = t.time_partitioning
    return TableFacts(
        rows=int(t.num_rows or 0),
        bytes=int(t.num_bytes or 0),
        modified=t.modified,
        streaming_rows=int(buffer.estimated_rows or 0) if buffer else 0,
        oldest_streaming_entry=buffer.oldest_entry_time if buffer else None,
        partitioning=(part.field or "_PARTITIONTIME") if part else None,
        clustering=tuple(t.clustering_fields or ()),
    )
