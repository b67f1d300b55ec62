"""The cached snapshot of the Airbyte connection: what the code location loads from.

Loading the Dagster definitions never calls Airbyte; it reads this JSON file, written by
``adw airbyte refresh-specs`` from the API (``GET /connections``, ``POST /connections/get``,
``GET /destinations/{id}``). The file keeps the API responses as Airbyte sent them, trimmed
to the fields adw uses and without any secret, so it is safe to commit.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from adw_assets.errors import ConfigError

FORMAT = "adw-airbyte-specs/1"

_CONNECTION_FIELDS = (
    "connectionId",
    "name",
    "namespaceDefinition",
    "namespaceFormat",
    "prefix",
    "sourceId",
    "destinationId",
    "workspaceId",
    "status",
    "scheduleType",
)
_STREAM_FIELDS = (
    "name",
    "namespace",
    "jsonSchema",
    "supportedSyncModes",
    "sourceDefinedCursor",
    "defaultCursorField",
    "sourceDefinedPrimaryKey",
)
_STREAM_CONFIG_FIELDS = (
    "syncMode",
    "cursorField",
    "destinationSyncMode",
    "primaryKey",
    "aliasName",
    "selected",
    "generationId",
    "minimumGenerationId",
)
_DESTINATION_FIELDS = ("destinationId", "name", "destinationType", "definitionId", "workspaceId")
# Destination settings that locate the tables; everything else (keys, credentials) is dropped.
_DESTINATION_CONFIG_FIELDS = (
    "database",
    "schema",
    "project_id",
    "dataset_id",
    "dataset_location",
    "destination_path",
)


def _pick(data: Mapping[str, Any], fields: tuple[str, ...]) -> dict[str, Any]:
    return {k: data[k] for k in fields if k in data}


_HASHING_FIELDS = ("targetField", "method", "fieldNameSuffix")


def _trim_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """A stream's config; of its mappers only the type, and a hashing mapper's settings (an
    encryption mapper's key never reaches the cache)."""
    out = _pick(config, _STREAM_CONFIG_FIELDS)
    if config.get("mappers"):
        out["mappers"] = [
            {"type": m.get("type")}
            | (
                {"mapperConfiguration": _pick(m.get("mapperConfiguration") or {}, _HASHING_FIELDS)}
                if m.get("type") == "hashing"
                else {}
            )
            for m in config["mappers"]
        ]
    return out


def trim_connection(details: Mapping[str, Any]) -> dict[str, Any]:
    """The configuration API's connection, reduced to its identity, namespace and catalog."""
    connection = _pick(details, _CONNECTION_FIELDS)
    connection["syncCatalog"] = {
        "streams": [
            {
                "stream": _pick(s.get("stream", {}), _STREAM_FIELDS),
                "config": _trim_config(s.get("config", {})),
            }
            for s in details.get("syncCatalog", {}).get("streams", [])
        ]
    }
    return connection


def trim_destination(details: Mapping[str, Any]) -> dict[str, Any]:
    destination = _pick(details, _DESTINATION_FIELDS)
    destination["configuration"] = _pick(
        details.get("configuration") or {}, _DESTINATION_CONFIG_FIELDS
    )
    return destination


def make_snapshot(
    connection: Mapping[str, Any],
    destination: Mapping[str, Any],
    *,
    refreshed_from: str,
    refreshed_at: datetime | None = None,
) -> dict[str, Any]:
    return {
        "format": FORMAT,
        "refreshed_from": refreshed_from,
        "refreshed_at": refreshed_at.astimezone(UTC).isoformat(timespec="seconds")
        if refreshed_at
        else None,
        "connection": trim_connection(connection),
        "destination": trim_destination(destination),
    }


def read_snapshot(path: Path) -> dict[str, Any]:
    """Read and check a snapshot; a missing or damaged file says how to make a new one."""
    fix = (
        "Run `adw airbyte refresh-specs` to fetch it from Airbyte, or unset ADW_AIRBYTE_SPECS "
        "to use the cache shipped with adw."
    )
    try:
        snapshot = json.loads(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"the Airbyte spec cache {path} does not exist. {fix}") from None
    except (OSError, ValueError) as exc:
        raise ConfigError(f"the Airbyte spec cache {path} is unreadable ({exc}). {fix}") from None
    if not isinstance(snapshot, dict) or snapshot.get("format") != FORMAT:
        raise ConfigError(
            f"the Airbyte spec cache {path} is not a {FORMAT} file "
            f"(format={snapshot.get('format') if isinstance(snapshot, dict) else None!r}). {fix}"
        )
    connection = snapshot.get("connection") or {}
    destination = snapshot.get("destination") or {}
    for field in ("connectionId", "name", "destinationId", "syncCatalog"):
        if field not in connection:
            raise ConfigError(f"the Airbyte spec cache {path} has no connection {field}. {fix}")
    for field in ("destinationId", "destinationType"):
        if field not in destination:
            raise ConfigError(f"the Airbyte spec cache {path} has no destination {field}. {fix}")
    return snapshot


def write_snapshot(path: Path, snapshot: Mapping[str, Any]) -> None:
    """Write atomically (a reader never sees half a file), stable order for clean diffs."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(snapshot, indent=2, sort_keys=True) + "\n")
    tmp.replace(path)
