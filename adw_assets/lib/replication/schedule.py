"""Run streams on a few worker threads, at most one *heavy* stream at a time.

A heavy stream is one that will read a whole large table (first sync or full refresh of a
table above ``HEAVY_BYTES``): its DuckDB transaction holds the uncommitted rows in memory, so
two of them side by side double the peak. Light streams (incremental syncs, small tables) fill
the other workers meanwhile. Streams start largest first.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

HEAVY_BYTES = 4 << 20

T = TypeVar("T")


def run_streams(
    names: Sequence[str],
    work: Callable[[str], T],
    *,
    workers: int,
    heavy: Callable[[str], bool],
) -> dict[str, T]:
    """``work(name)`` for every name, on ``workers`` threads; results by name."""
    pending = list(names)
    results: dict[str, T] = {}
    cond = threading.Condition()
    state = {"heavy_running": False}
    errors: list[BaseException] = []

    def take() -> tuple[str, bool] | None:
        with cond:
            while pending:
                for name in pending:
                    is_heavy = heavy(name)
                    if not (is_heavy and state["heavy_running"]):
                        pending.remove(name)
                        state["heavy_running"] |= is_heavy
                        return name, is_heavy
                cond.wait()
            return None

    def worker() -> None:
        while (item := take()) is not None:
            name, is_heavy = item
            try:
                results[name] = work(name)
            except BaseException as exc:  # surfaced to the caller after the others finish
                errors.append(exc)
            finally:
                with cond:
                    if is_heavy:
                        state["heavy_running"] = False
                    cond.notify_all()

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(max(1, workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results
