"""The dashboard's snapshot: every ``rpt_*`` mart exported to Parquet right after the build.

The dashboard reads only these files (``$ADW_HOME/serving``), never the DuckDB warehouse, so a
build or a replication holding the warehouse never blocks it. The asset depends on the marts,
which draws the lineage postgres -> replication -> dbt -> marts -> dashboard in the UI; the jobs
that build marts (``elt_job``, ``web_events_job``, ...) select the ``dashboard`` group too.
"""

import dagster as dg

from adw_assets.lib.semantic import MARTS
from adw_assets.lib.serving import export_snapshot, serving_dir
from adw_assets.settings import get_settings

SNAPSHOT_KEY = dg.AssetKey(["dashboard", "snapshot"])
MARTS_CHECK = "snapshot_has_every_dashboard_mart"


@dg.asset(
    key=SNAPSHOT_KEY,
    group_name="dashboard",
    deps=[dg.AssetKey(m.asset_key) for m in MARTS.values()],
    kinds={"duckdb", "parquet", "streamlit"},
    description="The rpt_* marts exported to $ADW_HOME/serving/<mart>.parquet (temp file + "
    "rename) for the local dashboard (`adw dashboard`), which never opens the warehouse.",
    check_specs=[
        dg.AssetCheckSpec(
            MARTS_CHECK,
            asset=SNAPSHOT_KEY,
            description="Every mart the dashboard reads is in the snapshot with the columns "
            "the dashboard uses.",
        )
    ],
)
def dashboard_snapshot(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    settings = get_settings()
    out = serving_dir(settings)
    if settings.warehouse != "duckdb":
        context.log.warning("the local dashboard snapshot reads the DuckDB warehouse only")
        return dg.MaterializeResult(
            metadata={"skipped": f"ADW_WAREHOUSE={settings.warehouse}"},
            check_results=[
                dg.AssetCheckResult(check_name=MARTS_CHECK, passed=True, metadata={"skipped": 1})
            ],
        )
    manifest = export_snapshot(settings.duckdb_path, out)
    exported = manifest["marts"]
    problems = {}
    for name, spec in MARTS.items():
        if name not in exported:
            problems[name] = "missing"
        elif missing := [c for c in spec.columns if c not in exported[name]["columns"]]:
            problems[name] = "lacks " + ", ".join(missing)
    context.log.info(f"exported {len(exported)} marts to {out} in {manifest['seconds']} s")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(out)),
            "marts": len(exported),
            "rows": dg.MetadataValue.json({k: v["rows"] for k, v in exported.items()}),
            "seconds": manifest["seconds"],
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
