"""Omni documents as assets, read through dagster-omni (docs/omni.md).

dagster-omni's public API is a state-backed component, ``OmniComponent``: it fetches the
workspace (documents, their queries, SCIM users) with ``OmniWorkspace`` and turns each
document into an ``AssetSpec`` whose deps are the tables its queries read. adw uses it as
Dagster means it to be used in a Python code location, ``dg.build_defs_for_component``, with
the state kept in the code server's snapshot (``LEGACY_CODE_SERVER_SNAPSHOTS``): Omni is read
once when the code location loads, and the run workers it launches rebuild the same graph from
that snapshot without calling Omni. Two documented hooks adapt it:

* ``write_state_to_path`` keeps of the fetched state only what the assets show (live
  documents, and of the users only the owners' id and e-mail), and turns Omni's answers into
  adw's behaviour: a refused key is a clear one-line error, an Omni that does not answer after
  its retries leaves its documents out of this load with one warning line;
* the ``translation`` maps each query's table to the key of the dbt model it reads (Omni names
  a table ``[<database>_]<schema>__<table>`` or by the semantic model it imports), keys the
  documents ``omni/<folder>/<name>`` in the group ``omni``, and drops the whole-workspace copy
  the library puts in every asset's metadata.
"""

from __future__ import annotations

import json
import logging
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import aiohttp
import dagster as dg
from dagster_omni import OmniComponent

from adw_assets.errors import ConfigError
from adw_assets.lib.secrets import redact

GROUP = "omni"
STATE_KEY = "adw_omni"
KEY_PREFIX = "omni"
BASE_DELAY = 1.0
"""Seconds before the first retry of an Omni request; each next one waits twice as long."""
REFUSED = (401, 403)
EMPTY_STATE = '{"__class__": "OmniWorkspaceData", "documents": [], "users": []}'
"""An Omni workspace without documents, in the library's serialized form (its stored state)."""
METADATA_NAMESPACE = "dagster-omni/"
"""The library's document metadata (url, owner_name, updated_at, ...): what the assets keep."""
log = logging.getLogger("adw.omni")


def dbt_table_keys(manifest: Path, asset_key) -> dict[str, dg.AssetKey]:
    """Omni table names -> the asset keys of the dbt models they read: each model, seed and
    snapshot by its relation name (``fct_orders``) and each semantic model by its name
    (``orders``); ``asset_key`` is the dbt translator's, applied to a manifest node."""
    data = json.loads(manifest.read_text())
    keys: dict[str, dg.AssetKey] = {}
    nodes = data.get("nodes", {})
    for node in nodes.values():
        if node["resource_type"] in ("model", "seed", "snapshot"):
            keys[node.get("alias") or node["name"]] = asset_key(node)
    for semantic in data.get("semantic_models", {}).values():
        model = next(iter(semantic.get("depends_on", {}).get("nodes", [])), None)
        if model in nodes:
            keys.setdefault(semantic["name"], asset_key(nodes[model]))
    return keys


def omni_table_key(table: str, keys: Mapping[str, dg.AssetKey]) -> dg.AssetKey | None:
    """The asset key of the dbt model Omni's table ``[<db>_]<schema>__<table>`` reads, when
    it is one of ours (its schema, if named, ends with the model's dbt schema: ``marts``,
    ``adw_marts``)."""
    schema, _, name = table.rpartition("__")
    key = keys.get(name)
    if key is None or (schema and len(key.path) > 1 and not schema.endswith(key.path[0])):
        return None
    return key


class AdwOmniComponent(OmniComponent):
    """dagster-omni's component with adw's state policy (module docstring)."""

    async def write_state_to_path(self, state_path: Path) -> None:
        state_path.write_text(dg.serialize_value(await self._fetch()), encoding="utf-8")

    async def _fetch(self) -> Any:
        url = self.workspace.base_url
        try:
            state = await self.workspace.fetch_omni_state()
        except aiohttp.ClientResponseError as exc:
            if exc.status in REFUSED:
                raise ConfigError(
                    f"Omni at {url} refused ADW_OMNI_API_KEY ({exc.status} {exc.message}); "
                    "set it to a valid organization API key, or unset ADW_OMNI_URL."
                ) from None
            if exc.status == 404 and "/api/v1/documents" in str(exc.request_info.url):
                raise ConfigError(
                    f"{url} has no Omni API (404 at /api/v1/documents); set ADW_OMNI_URL to "
                    "the Omni instance, e.g. https://acme.omniapp.co."
                ) from None
            return self._left_out(f"{exc.status} {exc.message}")
        except (aiohttp.ClientError, TimeoutError) as exc:
            return self._left_out(redact(f"{type(exc).__name__}: {exc}"))
        owners = {doc.owner.id for doc in state.documents}
        return type(state)(
            documents=[doc for doc in state.documents if not doc.deleted],
            users=[_owner(user) for user in state.users if user.id in owners],
        )

    def _left_out(self, why: str) -> Any:
        log.warning(
            "Omni at %s did not answer after %d retries (%s): its documents are left out of "
            "this load of the code location; reload it when Omni is back.",
            self.workspace.base_url,
            self.workspace.max_retries,
            why,
        )
        return dg.deserialize_value(EMPTY_STATE)


def _owner(user: Any) -> Any:
    """What an asset shows of a user: its id and e-mail (the asset's owner)."""
    return type(user)(
        id=user.id,
        name=None,
        display_name="",
        user_name="",
        active=user.active,
        primary_email=user.primary_email,
        groups=[],
        created="",
        last_modified="",
    )


def translation(keys: Mapping[str, dg.AssetKey]):
    """The ``translation`` of the component: adw's keys, group and metadata (module doc)."""

    def translate(spec: dg.AssetSpec, data: Any) -> dg.AssetSpec | None:
        if hasattr(data.obj, "query_config"):  # a query of a document
            ours = omni_table_key(data.obj.query_config.table, keys)
            return spec.replace_attributes(key=ours) if ours else None  # not built by adw
        metadata = {k: v for k, v in spec.metadata.items() if k.startswith(METADATA_NAMESPACE)}
        return spec.replace_attributes(
            key=document_key(data.obj, data.workspace_data.documents),
            group_name=GROUP,
            metadata=metadata,
        )

    return translate


def document_key(doc: Any, documents: list[Any]) -> dg.AssetKey:
    """``omni/<folder path>/<name>``; the document's identifier is appended to its name when
    another document of its folder has the same name."""
    folder = doc.folder.path.split("/") if doc.folder else []
    twins = [d for d in documents if d.name == doc.name and d.folder == doc.folder]
    name = doc.name if len(twins) == 1 else f"{doc.name} ({doc.identifier})"
    return dg.AssetKey([KEY_PREFIX, *folder, name])


def omni_component(url: str, api_key: str, retries: int, keys: Mapping[str, Any]):
    """The component for this Omni instance (its preview warning is dagster-omni's, not one a
    user can act on)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", dg.PreviewWarning)
        return AdwOmniComponent(
            workspace={
                "base_url": url,
                "api_key": api_key,
                "max_retries": retries,
                "base_delay": BASE_DELAY,
            },
            translation=translation(keys),
            defs_state={"key": STATE_KEY, "management_type": "LEGACY_CODE_SERVER_SNAPSHOTS"},
        )
