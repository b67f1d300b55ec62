"""The code location as the tests use it: built from the current ``ADW_*`` environment, run in
process (an ephemeral instance unless one is given)."""

from __future__ import annotations

from collections.abc import Iterable

import dagster as dg

from adw_assets.definitions import build_definitions
from adw_assets.settings import get_settings


def definitions() -> dg.Definitions:
    """The definitions for the environment as it is now (settings re-read)."""
    get_settings.cache_clear()
    return build_definitions()


def materialize(
    assets: Iterable[dg.AssetKey] | None = None,
    *,
    checks_of: Iterable[dg.AssetKey] | None = None,
    tags: dict[str, str] | None = None,
    instance: dg.DagsterInstance | None = None,
    defs: dg.Definitions | None = None,
    resources: dict[str, object] | None = None,
) -> dg.ExecuteInProcessResult:
    """Materialize ``assets`` with their checks (or only the checks of ``checks_of``), as a
    "Materialize" in the UI does: the implicit asset job, no tags of adw's own. ``resources``
    replace some of the code location's."""
    defs = defs or definitions()
    job = defs.resolve_implicit_global_asset_job_def()
    graph = job.asset_layer.asset_graph
    keys = set(assets) if assets is not None else set(graph.materializable_asset_keys)
    if checks_of is not None:
        keys, of = set(), set(checks_of)
        check_keys = {c for c in graph.asset_check_keys if c.asset_key in of}
    else:
        check_keys = {c for c in graph.asset_check_keys if c.asset_key in keys}
    job = job.get_subset(asset_selection=keys, asset_check_selection=check_keys)
    return job.execute_in_process(
        instance=instance or dg.DagsterInstance.ephemeral(),
        tags=tags,
        raise_on_error=False,
        resources=resources,
    )
