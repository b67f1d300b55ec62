"""What Dagster itself costs for a run the shape of adw's, with no work in it: the floor under
`adw build` and `adw replicate` (bench/orchestration.py runs it beside them).

    .venv/bin/python bench/dagster_floor.py 33:145 1:1     # adw build: the dbt step, the snapshot
    .venv/bin/python bench/dagster_floor.py 12:0 0:24      # adw replicate: the tables, their checks

Each argument is one step, in order, each downstream of the one before: ``A:C`` is a
multi-asset of A assets with C checks that yields A materializations and C passing check
results and does nothing else; ``0:C`` is a multi-asset check of C checks on the previous
step's assets. The run executes in this process (as adw's commands do) against a fresh
DAGSTER_HOME holding the instance YAML adw writes (SQLite storage, the same concurrency pools),
so it pays what any run of that shape pays: importing Dagster, building the job, creating the
run (a planned event per asset and check), the event log (each event stored, check results in
the cross-run index too). Prints one line of JSON: the seconds of each phase, timed inside the
process; time the whole command from outside for the process start.
"""

from __future__ import annotations

import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

started = time.perf_counter()
import dagster as dg  # noqa: E402  (the import is part of what is measured)

imported = time.perf_counter()

# the instance YAML of adw's local DAGSTER_HOME, read as text so adw is not imported
YAML = (
    "concurrency:\n  runs:\n    max_concurrent_runs: 4\n  pools:\n    default_limit: 1\n"
    "run_monitoring:\n  enabled: true\n  free_slots_after_run_end_seconds: 60\n"
    "freshness:\n  enabled: true\ntelemetry:\n  enabled: false\n"
)


def step(index: int, assets: int, checks: int, upstream: list[dg.AssetKey]):
    """One step of the run: a multi-asset (or a multi-asset check when ``assets`` is 0)."""
    if assets == 0:
        specs = [dg.AssetCheckSpec(f"check_{i}", asset=upstream[i % len(upstream)])
                 for i in range(checks)]  # fmt: skip

        @dg.multi_asset_check(specs=specs, name=f"step_{index}", pool="warehouse")
        def only_checks():
            for spec in specs:
                yield dg.AssetCheckResult(
                    asset_key=spec.asset_key, check_name=spec.name, passed=True
                )

        return only_checks, upstream
    keys = [dg.AssetKey(["floor", f"s{index}", f"a{i}"]) for i in range(assets)]
    specs = [dg.AssetSpec(key, deps=upstream) for key in keys]
    check_specs = [dg.AssetCheckSpec(f"check_{i}", asset=keys[i % assets]) for i in range(checks)]

    @dg.multi_asset(specs=specs, check_specs=check_specs, name=f"step_{index}", pool="warehouse")
    def work():
        for key in keys:
            yield dg.MaterializeResult(asset_key=key)
        for spec in check_specs:
            yield dg.AssetCheckResult(asset_key=spec.asset_key, check_name=spec.name, passed=True)

    return work, keys


def main(shape: list[str]) -> dict[str, float]:
    home = Path(tempfile.mkdtemp(prefix="adw-bench-floor-"))
    (home / "dagster.yaml").write_text(YAML)
    definitions, upstream = [], []
    for index, part in enumerate(shape):
        assets, checks = (int(n) for n in part.split(":"))
        node, upstream = step(index, assets, checks, upstream)
        definitions.append(node)
    defs = dg.Definitions(assets=[d for d in definitions if isinstance(d, dg.AssetsDefinition)],
                          asset_checks=[d for d in definitions
                                        if not isinstance(d, dg.AssetsDefinition)],
                          jobs=[dg.define_asset_job("floor_job")])  # fmt: skip
    job = defs.resolve_job_def("floor_job")
    built = time.perf_counter()
    with dg.DagsterInstance.from_config(str(home)) as instance:
        result = job.execute_in_process(
            instance=instance,
            raise_on_error=True,
            run_config={"loggers": {"console": {"config": {"log_level": "CRITICAL"}}}},
        )
        events = len(instance.all_logs(result.run_id))
    done = time.perf_counter()
    shutil.rmtree(home, ignore_errors=True)
    return {
        "import": imported - started,
        "definitions": built - imported,
        "run": done - built,
        "in_process": done - started,
        "events": events,
    }


if __name__ == "__main__":
    if len(sys.argv) < 2 or not all(":" in a for a in sys.argv[1:]):
        sys.exit(__doc__)
    print(json.dumps(main(sys.argv[1:])))
