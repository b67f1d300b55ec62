"""Run streams on a few worker threads, in the order given (the engine sorts largest first).

Memory does not limit how many whole-table syncs run side by side: a stream holds about one
Arrow batch, since DuckDB writes its rows to disk as each (16,384-row) group fills and
BigQuery loads each batch as it comes. An earlier version let only one *heavy* stream (a whole
table above 4 MB) run at a time, because DuckDB then kept a transaction's rows in memory
until the commit.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor, wait
from typing import TypeVar

T = TypeVar("T")


def run_streams(names: Sequence[str], work: Callable[[str], T], *, workers: int) -> dict[str, T]:
    """``work(name)`` for every name, on ``workers`` threads; results by name. An exception
    is raised after the other streams finish; an interrupt starts no further stream."""
    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="adw-stream") as pool:
        futures = {name: pool.submit(work, name) for name in names}
        try:
            wait(futures.values())
        except BaseException:
            pool.shutdown(wait=False, cancel_futures=True)
            raise
    for future in futures.values():
        if future.exception() is not None:
            raise future.exception()
    return {name: future.result() for name, future in futures.items()}
