"""A second Dagster code location for the Kestra contract tests (location ``kestra_test``).

``hold_job`` runs until it is terminated (at most ten minutes): started, it holds the test
instance's only run slot (``max_concurrent_runs: 1``), so that any other run waits QUEUED;
launched by a flow, it is a run that outlasts the flow's wait.
"""

from __future__ import annotations

import time

import dagster as dg


@dg.op
def hold() -> None:
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        time.sleep(0.2)


@dg.job(executor_def=dg.in_process_executor)
def hold_job() -> None:
    hold()


defs = dg.Definitions(jobs=[hold_job])
