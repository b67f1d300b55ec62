"""Test-only hook: ``ADW_TEST_PAUSE_AT=<point>[@<stream>]`` makes the engine stop and sleep at
that point, so a reliability test can ``kill -9`` it exactly there.

Points, in the order a stream passes them: ``stream_start`` (transaction open),
``batch_read`` (a batch read from PostgreSQL, not yet written), ``range_read`` (a batch read
by one of the concurrent range readers of a large full sync, :mod:`ranges`, on its thread),
``batch_written``,
``before_state`` (all data written, state not yet), ``before_commit`` (state written, not
committed), ``after_commit``. A full sync into DuckDB writes its batches into staging tables,
one transaction each (:mod:`duckdb_load`), and adds :data:`STAGING_POINTS`:
``staging_committed`` (a batch committed into the staging tables) and ``before_swap`` (every
batch staged, the swap into the final table not begun). The engine prints
``ADW_TEST_PAUSED <point> <stream>`` on stderr before sleeping. Unset (always, outside tests)
the hook does nothing.
"""

from __future__ import annotations

import sys
import time

POINTS = (
    "stream_start",
    "batch_read",
    "range_read",
    "batch_written",
    "before_state",
    "before_commit",
    "after_commit",
)
STAGING_POINTS = ("staging_committed", "before_swap")
"""Points of the DuckDB destination's full sync only (BigQuery stages in its own way)."""
MARKER = "ADW_TEST_PAUSED"


class PauseHook:
    def __init__(self, spec: str | None) -> None:
        self.point: str | None = None
        self.stream: str | None = None
        if spec:
            point, _, stream = spec.partition("@")
            if point not in POINTS + STAGING_POINTS:
                known = POINTS + STAGING_POINTS
                raise ValueError(f"ADW_TEST_PAUSE_AT={spec!r}: point must be one of {known}")
            self.point, self.stream = point, stream or None

    def __call__(self, point: str, stream: str) -> None:
        if self.point is None or point != self.point:
            return
        if self.stream is not None and self.stream not in (stream, stream.split(".", 1)[-1]):
            return
        print(f"{MARKER} {point} {stream}", file=sys.stderr, flush=True)
        time.sleep(3600)


def from_settings() -> PauseHook:
    from adw_assets.settings import get_settings

    return PauseHook(get_settings().test_pause_at)
