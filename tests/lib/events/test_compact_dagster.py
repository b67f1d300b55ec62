"""landing_compaction_job in Dagster: it compacts, records the check that the compacted events
match the micro-batches they replaced, and fails with that check when they do not."""

from __future__ import annotations

import time

import dagster as dg
import pyarrow.parquet as pq

from adw_assets.defs.web_events.checks import COMPACTION_CHECK
from adw_assets.defs.web_events.jobs import landing_compaction_job
from adw_assets.lib.events import history
from adw_assets.lib.events.compact import COMPACTED


def _run(**kwargs) -> tuple:
    """Run the job; its result and the check evaluations its op logged."""
    with dg.instance_for_test() as instance:
        result = landing_compaction_job.execute_in_process(instance=instance, **kwargs)
        evaluation = dg.DagsterEventType.ASSET_CHECK_EVALUATION
        logged = instance.all_logs(result.run_id, of_type=evaluation)
        return result, [e.dagster_event.event_specific_data for e in logged]


def test_the_job_compacts_and_its_check_catches_a_lost_event(cfg):
    history((time.time() // 3600 - 4) * 3600, 3 * 3600, 3000, batch_seconds=60)
    result, [evaluation] = _run()
    assert result.success
    assert evaluation.check_name == COMPACTION_CHECK and evaluation.passed
    compacted = [p for p in cfg.landing_dir.glob("*/*.parquet") if COMPACTED.fullmatch(p.name)]
    assert len(compacted) >= 3

    table = pq.read_table(compacted[0])  # one event lost from a compacted file
    pq.write_table(table.slice(1), compacted[0])
    result, [evaluation] = _run(raise_on_error=False)
    assert not result.success
    assert not evaluation.passed
    assert evaluation.metadata["differing"].value[0]["differing_rows"] == 1
