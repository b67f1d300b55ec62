"""The dashboard's snapshot: the relations of the dbt exposure ``dashboard`` (what the semantic
layer's metrics read, and the correlation mart), exported with the semantic manifest into one
read-only DuckDB file right after they are built (``lib/serving.py``).

The dashboard reads only this file (``$ADW_HOME/serving/snapshot.duckdb``), never the
warehouse, so a build or a replication holding DuckDB never blocks it, and BigQuery is not
queried per page view. The asset depends on exactly the relations it exports, which draws
the lineage postgres -> replication -> dbt -> marts -> dashboard; every job that builds one of them
selects it, so its check runs on every path.
"""

import json
from pathlib import Path

import dagster as dg

from adw_assets.defs.dbt.translator import AdwDbtTranslator
from adw_assets.defs.warehouse.resources import POOL, WarehouseResource
from adw_assets.lib.serving import SNAPSHOT_DB, dashboard_marts, export_snapshot, serving_dir
from adw_assets.settings import get_settings

SNAPSHOT_KEY = dg.AssetKey(["dashboard", "snapshot"])
MARTS_CHECK = "snapshot_has_every_dashboard_mart"
OP_NAME = "dashboard__snapshot"
"""The op Dagster names after the key."""


def build_dashboard_snapshot(manifest: Path, translator: AdwDbtTranslator) -> dg.AssetsDefinition:
    dbt_manifest = json.loads(manifest.read_text())
    marts = dashboard_marts(dbt_manifest)
    nodes = {n["name"]: n for n in dbt_manifest["nodes"].values() if n["resource_type"] == "model"}

    @dg.asset(
        key=SNAPSHOT_KEY,
        group_name="dashboard",
        deps=[translator.get_asset_key(nodes[m.name]) for m in marts],
        kinds={"duckdb", "streamlit"},
        pool=POOL,
        description="The relations of the dbt exposure `dashboard` and the semantic manifest "
        f"exported to $ADW_HOME/serving/{SNAPSHOT_DB} (temp file + rename) for the local "
        "dashboard (`adw dashboard`), whose metrics MetricFlow compiles against it; it never "
        "opens the warehouse.",
        check_specs=[
            dg.AssetCheckSpec(
                MARTS_CHECK,
                asset=SNAPSHOT_KEY,
                description="Every mart of the exposure is in the snapshot with the columns its "
                "dbt model declares.",
            )
        ],
    )
    def dashboard_snapshot(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        settings = get_settings()
        out = serving_dir(settings)
        with warehouse.open() as wh:
            exported = export_snapshot(wh, marts, out, manifest.parent / "semantic_manifest.json")
        problems = {name: f"not built: {hint}" for name, hint in exported["missing"].items()}
        for name, mart in exported["marts"].items():
            if lacking := [c for c in mart["declared"] if c not in mart["columns"]]:
                problems[name] = "lacks " + ", ".join(lacking)
        context.log.info(
            f"exported {len(exported['marts'])} marts to {out} in {exported['seconds']} s"
        )
        return dg.MaterializeResult(
            metadata={
                "path": dg.MetadataValue.path(str(out)),
                "marts": len(exported["marts"]),
                "rows": dg.MetadataValue.json({k: v["rows"] for k, v in exported["marts"].items()}),
                "seconds": exported["seconds"],
                "dashboard": dg.MetadataValue.url(f"http://127.0.0.1:{settings.dashboard_port}"),
            },
            check_results=[
                dg.AssetCheckResult(
                    check_name=MARTS_CHECK,
                    passed=not problems,
                    severity=dg.AssetCheckSeverity.WARN,
                    metadata={"problems": dg.MetadataValue.json(problems)},
                    description="the dashboard shows what to run for the marts listed"
                    if problems
                    else None,
                )
            ],
        )

    return dashboard_snapshot
