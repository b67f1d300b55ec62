"""adw's one retry policy: exponential backoff on the errors the caller names, bounded by a
number of attempts or by time (tenacity's ``Retrying``).

Every retry of adw goes through :func:`retrying`: opening a DuckDB file another process holds,
re-reading a serving file replaced under the reader, a source PostgreSQL that drops
connections, a BigQuery commit aborted by a concurrent one. The last error is raised as is
once the policy gives up, so the caller says what it means for the user.
"""

from __future__ import annotations

from collections.abc import Callable

import tenacity

Errors = type[BaseException] | tuple[type[BaseException], ...]


def retrying(
    retry_on: Errors | Callable[[BaseException], bool],
    *,
    first_wait: float,
    max_wait: float = 60.0,
    attempts: int | None = None,
    seconds: float | None = None,
    jitter: bool = True,
    before_sleep: Callable[[tenacity.RetryCallState], None] | None = None,
) -> tenacity.Retrying:
    """Call ``policy(fn, *args)`` to run ``fn`` until it succeeds or the policy gives up.

    Retries on the error types ``retry_on`` (or while ``retry_on(error)`` holds), waiting
    ``first_wait`` seconds, then twice as long each time up to ``max_wait`` (plus up to
    ``first_wait`` of random jitter, unless ``jitter`` is false: the waits are then exact);
    at most ``attempts`` calls, and no wait that would end past ``seconds`` after the first
    call. ``before_sleep`` sees each retry
    (``state.outcome.exception()``, ``state.upcoming_sleep``).
    """
    stop: tenacity.stop.stop_base = tenacity.stop_never
    if attempts is not None:
        stop = tenacity.stop_after_attempt(attempts)
    if seconds is not None:
        stop = stop | tenacity.stop_before_delay(seconds)
    wait = (
        tenacity.wait_exponential_jitter(initial=first_wait, max=max_wait, jitter=first_wait)
        if jitter
        else tenacity.wait_exponential(multiplier=first_wait, max=max_wait)
    )
    retry = (
        tenacity.retry_if_exception_type(retry_on)
        if isinstance(retry_on, type | tuple)
        else tenacity.retry_if_exception(retry_on)
    )
    return tenacity.Retrying(
        retry=retry,
        stop=stop,
        wait=wait,
        before_sleep=before_sleep,
        reraise=True,
    )
