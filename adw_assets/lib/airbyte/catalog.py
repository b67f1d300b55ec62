"""The Airbyte connection adw expects, described as Airbyte's APIs describe it.

Airbyte's Postgres source discovers each table as a stream (namespace = schema) with a JSON
schema per column; the connection then sets the sync mode (incremental | append + deduped),
cursor (``modifieddate``) and primary key per stream, and the destination namespace
(custom format ``raw_${SOURCE_NAMESPACE}``). :func:`recommended_connection` builds that
connection in the configuration API's ``/connections/get`` shape from the real source
tables; it is the default spec cache and what the test stand-in serves.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from adw_assets.lib.mappings import Mappings
from adw_assets.lib.source.catalog import CURSOR_FIELD, SCHEMAS, TABLES

# Deterministic ids for the default cache; `adw airbyte refresh-specs` replaces them.
DEFAULT_WORKSPACE_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "adw:airbyte:workspace"))
DEFAULT_CONNECTION_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "adw:airbyte:connection"))
DEFAULT_SOURCE_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "adw:airbyte:source"))
DEFAULT_DESTINATION_ID = str(uuid.uuid5(uuid.NAMESPACE_URL, "adw:airbyte:destination"))
CONNECTION_NAME = "AdventureWorks Postgres -> adw warehouse"

_INTEGER = {"type": "number", "airbyte_type": "integer"}
_JSON_TYPES: dict[str, dict[str, str]] = {
    "smallint": _INTEGER,
    "integer": _INTEGER,
    "bigint": _INTEGER,
    "numeric": {"type": "number"},
    "real": {"type": "number"},
    "double precision": {"type": "number"},
    "boolean": {"type": "boolean"},
    "date": {"type": "string", "format": "date"},
    "timestamp without time zone": {
        "type": "string",
        "format": "date-time",
        "airbyte_type": "timestamp_without_timezone",
    },
    "timestamp with time zone": {
        "type": "string",
        "format": "date-time",
        "airbyte_type": "timestamp_with_timezone",
    },
}


def json_schema_type(pg_type: str) -> dict[str, str]:
    """The JSON schema Airbyte's Postgres source gives a column of this PostgreSQL type.

    Text, ``char(n)``, ``uuid`` and ``xml`` are strings, as Airbyte emits them.
    """
    return dict(_JSON_TYPES.get(pg_type, {"type": "string"}))


@dataclass(frozen=True)
class SourceStream:
    namespace: str
    name: str
    columns: tuple[tuple[str, str], ...]
    """``(column, information_schema data_type)`` in table order."""
    primary_key: tuple[str, ...]


def introspect(conn, tables: Iterable[tuple[str, str]] | None = None) -> list[SourceStream]:
    """The source tables as Airbyte discovers them (psycopg connection to the source).

    ``tables`` defaults to the 12 AdventureWorks tables, in load order.
    """
    wanted = list(tables or ((t.schema, t.name) for t in TABLES))
    rows = conn.execute(
        "select table_schema, table_name, column_name, data_type from information_schema.columns"
        " where table_schema = any(%s) order by table_schema, table_name, ordinal_position",
        (sorted({s for s, _ in wanted} | set(SCHEMAS)),),
    ).fetchall()
    # pg_catalog, not information_schema.table_constraints: the read-only role sees only
    # the constraints of tables it has more than SELECT on there.
    pk_rows = conn.execute(
        "select n.nspname, c.relname, a.attname from pg_index i"
        " join pg_class c on c.oid = i.indrelid"
        " join pg_namespace n on n.oid = c.relnamespace"
        " cross join lateral unnest(i.indkey) with ordinality as k(attnum, ord)"
        " join pg_attribute a on a.attrelid = c.oid and a.attnum = k.attnum"
        " where i.indisprimary and n.nspname = any(%s) order by n.nspname, c.relname, k.ord",
        (sorted({s for s, _ in wanted}),),
    ).fetchall()
    columns: dict[tuple[str, str], list[tuple[str, str]]] = {}
    for schema, table, column, data_type in rows:
        columns.setdefault((schema, table), []).append((column, data_type))
    keys: dict[tuple[str, str], list[str]] = {}
    for schema, table, column in pk_rows:
        keys.setdefault((schema, table), []).append(column)
    return [
        SourceStream(s, t, tuple(columns[(s, t)]), tuple(keys.get((s, t), ())))
        for s, t in wanted
        if (s, t) in columns
    ]


def stream_entry(stream: SourceStream, mappings: Mappings | None = None) -> dict[str, Any]:
    """One entry of ``syncCatalog.streams``: incremental | append + deduped on modifieddate,
    with the hashing mappers of ``mappings`` (``ADW_REPLICATION_MAPPINGS``)."""
    properties = {name: json_schema_type(pg_type) for name, pg_type in stream.columns}
    primary_key = [[c] for c in stream.primary_key]
    incremental = CURSOR_FIELD in properties and bool(primary_key)
    return {
        "stream": {
            "name": stream.name,
            "namespace": stream.namespace,
            "jsonSchema": {"type": "object", "properties": properties},
            "supportedSyncModes": ["full_refresh", "incremental"],
            "sourceDefinedCursor": False,
            "defaultCursorField": [],
            "sourceDefinedPrimaryKey": primary_key,
            "isResumable": True,
        },
        "config": {
            "syncMode": "incremental" if incremental else "full_refresh",
            "cursorField": [CURSOR_FIELD] if incremental else [],
            "destinationSyncMode": "append_dedup" if incremental else "overwrite",
            "primaryKey": primary_key,
            "aliasName": stream.name,
            "selected": True,
            "suggested": True,
            "fieldSelectionEnabled": False,
            "generationId": 0,
            "minimumGenerationId": 0,
            "syncId": 0,
            "mappers": [
                {"type": "hashing", "mapperConfiguration": h.airbyte_config()}
                for h in (mappings or Mappings()).of(f"{stream.namespace}.{stream.name}")
            ],
        },
    }


def recommended_connection(
    streams: Iterable[SourceStream],
    *,
    raw_prefix: str = "raw_",
    connection_id: str = DEFAULT_CONNECTION_ID,
    workspace_id: str = DEFAULT_WORKSPACE_ID,
    source_id: str = DEFAULT_SOURCE_ID,
    destination_id: str = DEFAULT_DESTINATION_ID,
    name: str = CONNECTION_NAME,
    mappings: Mappings | None = None,
) -> dict[str, Any]:
    """The connection in the shape of the configuration API's ``POST /connections/get``."""
    return {
        "connectionId": connection_id,
        "name": name,
        "namespaceDefinition": "customformat",
        "namespaceFormat": raw_prefix + "${SOURCE_NAMESPACE}",
        "prefix": "",
        "sourceId": source_id,
        "destinationId": destination_id,
        "workspaceId": workspace_id,
        "operationIds": [],
        "syncCatalog": {"streams": [stream_entry(s, mappings) for s in streams]},
        "scheduleType": "manual",
        "status": "active",
        "nonBreakingChangesPreference": "propagate_columns",
        "backfillPreference": "disabled",
        "notifySchemaChanges": True,
        "breakingChange": False,
        "geography": "auto",
    }


def recommended_destination(
    warehouse: str,
    *,
    destination_id: str = DEFAULT_DESTINATION_ID,
    workspace_id: str = DEFAULT_WORKSPACE_ID,
    configuration: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The destination in the shape of the public API's ``GET /destinations/{id}``."""
    if warehouse == "bigquery":
        config = {"project_id": "your-gcp-project", "dataset_location": "US"}
        name = "adw warehouse (BigQuery)"
    else:
        config = {"destination_path": "/local/warehouse.duckdb", "schema": "main"}
        name = "adw warehouse (DuckDB)"
    return {
        "destinationId": destination_id,
        "name": name,
        "destinationType": warehouse,
        "workspaceId": workspace_id,
        "configuration": {**config, **(configuration or {})},
    }
