"""Run streams on a few worker threads, in the order given (the engine sorts largest first).

Memory does not limit how many whole-table syncs run side by side: a stream holds about one
Arrow batch, since DuckDB writes its rows to disk as each (16,384-row) group fills and
BigQuery loads each batch as it comes. An earlier version let only one *heavy* stream (a whole
table above 4 MB) run at a time, because DuckDB then kept a transaction's rows in memory
until the commit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


def run_streams(names: Sequence[str], work: Callable[[str], T], *, workers: int) -> dict[str, T]:
    """``work(name)`` for every name, on ``workers`` threads; results by name. An exception
    is raised after the other streams finish."""
    pending = list(names)
    results: dict[str, T] = {}
    lock = threading.Lock()
    errors: list[BaseException] = []

    def worker() -> None:
        while True:
            with lock:
                if not pending:
                    return
                name = pending.pop(0)
            try:
                results[name] = work(name)
            except BaseException as exc:  # surfaced to the caller after the others finish
                errors.append(exc)

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(max(1, workers))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results
