"""From the Airbyte connection to adw's tables and asset keys.

Airbyte writes stream ``<table>`` of source namespace ``<schema>`` to the destination
namespace its connection defines; with the custom format ``raw_${SOURCE_NAMESPACE}`` and no
stream prefix that is ``raw_<schema>.<table>``, the very table (and asset key) the embedded
replicator writes. :func:`check_snapshot` says when a connection does not write there.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from adw_assets.lib.mappings import Mappings, from_connection
from adw_assets.lib.source.catalog import CURSOR_FIELD, TABLES_BY_NAME


@dataclass(frozen=True)
class StreamTable:
    """One stream of the connection and the warehouse table Airbyte writes it to."""

    stream: str
    source_namespace: str | None
    namespace: str | None
    """The destination namespace (schema / dataset)."""
    selected: bool
    sync_mode: str | None
    destination_sync_mode: str | None
    cursor_field: tuple[str, ...]
    primary_key: tuple[str, ...]
    generation: int | None
    json_schema: Mapping[str, Any]
    mappings: Mappings = field(default_factory=Mappings)
    """The stream's hashing mappers on the connection."""

    @property
    def columns(self) -> dict[str, Any]:
        """The JSON schema of each column as Airbyte writes it (hashed fields renamed)."""
        properties = self.json_schema.get("properties") or {}
        return self.mappings.json_schema(f"{self.source_namespace}.{self.stream}", properties)

    @property
    def key_path(self) -> list[str]:
        """The asset key: ``[<destination namespace>, <table>]``."""
        return [self.namespace, self.stream] if self.namespace else [self.stream]

    @property
    def table_name(self) -> str:
        return ".".join(self.key_path)


def destination_namespace(
    connection: Mapping[str, Any], destination: Mapping[str, Any], source_namespace: str | None
) -> str | None:
    """The namespace Airbyte writes a stream to, per the connection's namespace definition."""
    definition = (connection.get("namespaceDefinition") or "source").lower().replace("_", "")
    if definition == "customformat":
        fmt = connection.get("namespaceFormat") or "${SOURCE_NAMESPACE}"
        return fmt.replace("${SOURCE_NAMESPACE}", source_namespace or "") or None
    if definition == "destination":
        config = destination.get("configuration") or {}
        return config.get("dataset_id") or config.get("schema")
    return source_namespace


def stream_tables(snapshot: Mapping[str, Any]) -> list[StreamTable]:
    """Every stream of the cached connection (selected or not), in catalog order."""
    connection, destination = snapshot["connection"], snapshot["destination"]
    prefix = connection.get("prefix") or ""
    tables = []
    for entry in connection["syncCatalog"].get("streams", []):
        stream, config = entry.get("stream", {}), entry.get("config", {})
        source_namespace = stream.get("namespace")
        tables.append(
            StreamTable(
                stream=prefix + stream["name"],
                source_namespace=source_namespace,
                namespace=destination_namespace(connection, destination, source_namespace),
                selected=bool(config.get("selected", False)),
                sync_mode=config.get("syncMode"),
                destination_sync_mode=config.get("destinationSyncMode"),
                cursor_field=tuple(config.get("cursorField") or ()),
                primary_key=tuple(p[0] for p in config.get("primaryKey") or () if p),
                generation=config.get("generationId"),
                json_schema=stream.get("jsonSchema") or {},
                mappings=from_connection(
                    f"{source_namespace}.{stream['name']}", config.get("mappers")
                ),
            )
        )
    return tables


def selected_tables(snapshot: Mapping[str, Any]) -> list[StreamTable]:
    return [t for t in stream_tables(snapshot) if t.selected]


def check_snapshot(
    snapshot: Mapping[str, Any], raw_prefix: str, mappings: Mappings | None = None
) -> tuple[list[str], list[str]]:
    """``(errors, warnings)`` about a connection, against adw's contract.

    Errors: the connection would write other tables than adw's graph and dbt expect (a
    namespace other than ``<raw_prefix><schema>``, a stream prefix, two streams of one name);
    ``mappings`` (``ADW_REPLICATION_MAPPINGS``, when set) hash other fields than its mappers.
    Warnings: a source table not synced, or synced without incremental | append + deduped on
    ``modifieddate`` with the table's primary key.
    """
    connection = snapshot["connection"]
    errors: list[str] = []
    warnings: list[str] = []
    tables = selected_tables(snapshot)
    fix = (
        "In the Airbyte connection set 'Destination namespace' to 'Custom format' "
        f"`{raw_prefix}${{SOURCE_NAMESPACE}}` and no stream prefix, then run "
        "`adw airbyte refresh-specs`."
    )
    if connection.get("prefix"):
        errors.append(f"the connection adds the stream prefix {connection['prefix']!r}. {fix}")
    for t in tables:
        expected = f"{raw_prefix}{t.source_namespace}"
        if t.source_namespace and t.namespace != expected:
            errors.append(
                f"stream {t.source_namespace}.{t.stream} lands in {t.namespace}.{t.stream}, "
                f"not {expected}.{t.stream} (ADW_RAW_PREFIX={raw_prefix!r}). {fix}"
            )
    if mappings:
        on_airbyte = Mappings(tuple(h for t in tables for h in t.mappings.hashing))
        names = [f"{t.source_namespace}.{t.stream}" for t in tables]
        differ = mappings.differences(on_airbyte, names)
        if differ:
            errors.append(
                f"ADW_REPLICATION_MAPPINGS and the connection's hashing mappers differ on "
                f"{', '.join(differ)}: set the same mappers on the Airbyte connection "
                "(docs/airbyte.md, Hashing fields), then run `adw airbyte refresh-specs`."
            )
    for name, count in Counter(t.stream for t in tables).items():
        if count > 1:
            errors.append(f"{count} selected streams are named {name!r}; names must be unique.")
    synced = {f"{t.source_namespace}.{t.stream}": t for t in tables}
    for qualified, source in TABLES_BY_NAME.items():
        t = synced.get(qualified)
        if t is None:
            warnings.append(f"source table {qualified} is not synced by the connection.")
            continue
        mode = f"{t.sync_mode} | {t.destination_sync_mode}"
        if mode != "incremental | append_dedup":
            warnings.append(f"{qualified} syncs as {mode}, not incremental | append_dedup.")
        if t.cursor_field != (CURSOR_FIELD,):
            warnings.append(f"{qualified} has cursor {list(t.cursor_field)}, not [modifieddate].")
        if t.primary_key != source.primary_key:
            warnings.append(
                f"{qualified} has primary key {list(t.primary_key)}, "
                f"not {list(source.primary_key)}."
            )
    return errors, warnings
