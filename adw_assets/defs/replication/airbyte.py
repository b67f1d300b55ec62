"""Replication through Airbyte (``ADW_REPLICATION=airbyte``): the replicator resource that syncs
the Airbyte connection with dagster-airbyte's client.

The replicated tables are the same assets as with the embedded replicator (``assets.py``);
what Airbyte writes is checked against them when the code location loads, from the cached
connection snapshot (``airbyte_specs.json`` beside this file, or ``ADW_AIRBYTE_SPECS``,
refreshed by ``adw airbyte refresh-specs``): loading makes no network call, so it works while
Airbyte is down. Airbyte syncs every selected stream of a connection at once, so a run that
selects some tables still syncs them all, and the others are recorded as materialized too.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

import dagster as dg

from adw_assets.defs.replication.resources import Materializations, ReplicatorResource
from adw_assets.errors import AdwError, ConfigError
from adw_assets.lib.airbyte.api import airbyte_workspace
from adw_assets.lib.airbyte.cache import make_snapshot, read_snapshot
from adw_assets.lib.airbyte.config import AirbyteConfig, airbyte_config
from adw_assets.lib.airbyte.sync import SyncResult, sync_and_poll
from adw_assets.lib.airbyte.translation import StreamTable, check_snapshot, selected_tables
from adw_assets.lib.mappings import load
from adw_assets.settings import Settings

log = logging.getLogger(__name__)


class AirbyteReplicator(ReplicatorResource):
    """Syncs the Airbyte connection ``ADW_AIRBYTE_CONNECTION_ID`` and waits for it."""

    workspace: dg.ConfigurableResource
    """dagster-airbyte's ``AirbyteWorkspace`` or ``AirbyteCloudWorkspace`` (their public base
    class is not exported); secrets stay ``dg.EnvVar``."""

    @property
    def kinds(self) -> set[str]:
        return {"airbyte"}

    def replicate(self, context, tables, *, full_refresh, source, warehouse) -> Materializations:
        cfg = airbyte_config()
        if full_refresh:
            context.log.info(
                "full refresh: Airbyte rebuilds streams with its own Refresh (connection "
                "settings); this run syncs the connection"
            )
        try:
            cfg.require()
            result = sync_and_poll(self.workspace.get_client(), cfg.connection_id, log=context.log)
        except AdwError as exc:
            raise dg.Failure(
                description=str(exc), metadata={"airbyte_job_id": getattr(exc, "job_id", None)}
            ) from exc
        destination = read_snapshot(cfg.specs_path)["destination"]
        yield from _materializations(context, result, destination, cfg)


def _connection_url(cfg: AirbyteConfig, connection_id: str) -> str:
    host = "https://cloud.airbyte.com" if cfg.cloud else cfg.url
    return f"{host}/workspaces/{cfg.workspace_id}/connections/{connection_id}/timeline"


def _metadata(t: StreamTable, result: SyncResult, cfg: AirbyteConfig) -> dict[str, Any]:
    stats = result.stream_stats(t.stream)
    state = result.stream_states.get(t.stream, {})
    columns = [
        dg.TableColumn(name, info.get("airbyte_type") or info.get("format") or info["type"])
        for name, info in t.columns.items()
    ]
    # the embedded replicator's metadata names, where Airbyte reports the same thing
    metadata = {
        # Dagster's standard table metadata keys
        "dagster/table_name": t.table_name,
        "dagster/column_schema": dg.TableSchema(columns),
        "rows_read": stats.get("recordsCommitted", stats.get("recordsEmitted")),
        "bytes_read": stats.get("bytesCommitted", stats.get("bytesEmitted")),
        "cursor": state.get("cursor"),
        "generation": t.generation,
        "sync_id": result.job_id,  # Airbyte's sync id (in _airbyte_meta) is the job id
        "sync_mode": f"{t.sync_mode} | {t.destination_sync_mode}",
        "duration_seconds": round(result.seconds, 3),
        "airbyte_job_id": result.job_id,
        "airbyte_connection": dg.MetadataValue.url(
            _connection_url(cfg, result.connection["connectionId"])
        ),
    }
    return {k: v for k, v in metadata.items() if v is not None}


def _materializations(
    context: dg.AssetExecutionContext,
    result: SyncResult,
    destination: Mapping[str, Any],
    cfg: AirbyteConfig,
) -> Materializations:
    live = make_snapshot(result.connection, destination, refreshed_from="sync")
    done: set[dg.AssetKey] = set()
    for t in selected_tables(live):
        key = dg.AssetKey(t.key_path)
        metadata = _metadata(t, result, cfg)
        if key in context.selected_asset_keys:
            done.add(key)
            yield dg.MaterializeResult(asset_key=key, metadata=metadata)
        else:
            # Airbyte syncs the whole connection: record what it wrote, selected or not.
            yield dg.AssetMaterialization(
                asset_key=key,
                metadata=metadata,
                description=f"Synced by Airbyte job {result.job_id} with the selected streams.",
            )
    missing = context.selected_asset_keys - done
    if missing:
        names = ", ".join(sorted(k.to_user_string() for k in missing))
        raise dg.Failure(
            f"Airbyte job {result.job_id} succeeded but the connection no longer syncs {names}; "
            "select the streams in Airbyte or run `adw airbyte refresh-specs`."
        )


def airbyte_replicator(settings: Settings) -> AirbyteReplicator:
    """The Airbyte replicator, after checking the cached connection against adw's tables.

    Reads no network: a missing or stale cache is fixed by ``adw airbyte refresh-specs``. A
    cache whose connection writes other tables than ``<ADW_RAW_PREFIX><schema>.<table>``
    raises :class:`ConfigError`, since dbt would read tables Airbyte does not write.
    """
    cfg = airbyte_config(settings)
    snapshot = read_snapshot(cfg.specs_path)
    errors, _ = check_snapshot(snapshot, settings.raw_prefix, load(settings.replication_mappings))
    if errors:
        raise ConfigError(
            f"the Airbyte spec cache {cfg.specs_path} describes a connection adw cannot use: "
            + " ".join(errors)
        )
    cached_id = snapshot["connection"]["connectionId"]
    if cfg.connection_id and cfg.connection_id != cached_id and snapshot.get("refreshed_at"):
        log.warning(
            "the Airbyte spec cache was refreshed from connection %s but "
            "ADW_AIRBYTE_CONNECTION_ID=%s; run `adw airbyte refresh-specs`.",
            cached_id,
            cfg.connection_id,
        )
    return AirbyteReplicator(workspace=airbyte_workspace(cfg))
