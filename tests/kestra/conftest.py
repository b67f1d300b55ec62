"""A live Dagster (webserver + daemon, `dagster dev`) over a private ADW_HOME and source DB.

Its instance runs one run at a time (``max_concurrent_runs: 1``, the rest of adw's
dagster.yaml unchanged) and its workspace adds the test location ``kestra_test``
(tests/kestra/hold_location.py), so that a test can make any run wait in the queue.
"""

from __future__ import annotations

import pytest

from tests.support.live_dagster import live_dagster as live

LOCATIONS = {"adw": "adw_assets.definitions", "kestra_test": "tests.kestra.hold_location"}


@pytest.fixture(scope="module")
def live_dagster(pg_cluster, tmp_path_factory):
    home = tmp_path_factory.mktemp("live") / "adw"
    with live(pg_cluster, home, LOCATIONS, max_concurrent_runs=1) as server:
        yield server
