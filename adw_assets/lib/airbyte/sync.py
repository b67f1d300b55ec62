"""Sync the Airbyte connection with dagster-airbyte's ``sync_and_poll``, plus what it leaves
out: progress, errors that say what Airbyte said, and per-stream stats.

The upstream loop starts (or resumes) the job, polls it, cancels it on a timeout or an
interrupt, and reports a failed job as ``Job failed: <id>``. On top of it, adw logs the rows
synced so far every 30 s, turns each of its failures into a message naming the connection
(for a failed job, the attempt's ``failureSummary`` from the configuration API's
``POST /jobs/get``), and reads the per-stream stats and cursors (``POST /state/get``) for the
materialization metadata.
"""

from __future__ import annotations

import contextlib
import logging
import re
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from dagster import Failure

from adw_assets.lib.airbyte.api import AirbyteError, Client, config_api, unreachable

RUNNING = ("running", "pending", "incomplete")
FAILED = ("failed", "error", "cancelled")
PROGRESS_EVERY_SECONDS = 30.0


@dataclass
class SyncResult:
    job_id: int
    job: Mapping[str, Any]
    """The public API's job (``GET /jobs/{id}``) once it succeeded."""
    connection: Mapping[str, Any]
    """The configuration API's connection (``POST /connections/get``) the job synced."""
    seconds: float
    attempt: Mapping[str, Any] = field(default_factory=dict)
    """The last attempt of the job (configuration API), with ``streamStats``; ``{}`` if unknown."""
    stream_states: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    """Each stream's state after the sync (its cursor), by stream name."""

    def stream_stats(self, stream: str) -> Mapping[str, Any]:
        for s in self.attempt.get("streamStats") or []:
            if s.get("streamName") == stream:
                return s.get("stats") or {}
        return {}


def failure_reasons(attempts: list[Mapping[str, Any]]) -> list[str]:
    """Airbyte's messages from the last attempt's ``failureSummary``, most specific first."""
    for info in reversed(attempts):
        attempt = info.get("attempt") or info
        failures = (attempt.get("failureSummary") or {}).get("failures") or []
        reasons = []
        for f in failures:
            message = f.get("externalMessage") or f.get("internalMessage") or "no message"
            origin = " ".join(x for x in (f.get("failureOrigin"), f.get("failureType")) if x)
            reasons.append(f"{origin}: {message}" if origin else message)
        if reasons:
            return reasons
    return []


def _job_attempts(client: Client, job_id: int, log: logging.Logger) -> list[Mapping]:
    try:
        return list(config_api(client, "/jobs/get", {"id": job_id}).get("attempts") or [])
    except Failure as exc:
        log.warning(f"could not read the attempts of Airbyte job {job_id}: {exc.description}")
        return []


def _stream_states(
    client: Client, connection_id: str, log: logging.Logger
) -> dict[str, Mapping[str, Any]]:
    try:
        state = config_api(client, "/state/get", {"connectionId": connection_id})
    except Failure as exc:
        log.warning(f"could not read the state of connection {connection_id}: {exc.description}")
        return {}
    return {
        s["streamDescriptor"]["name"]: s.get("streamState") or {}
        for s in state.get("streamState") or []
        if s.get("streamDescriptor", {}).get("name")
    }


def _running_jobs(client: Client, connection_id: str, since: datetime) -> list:
    jobs = client.get_jobs_for_connection(connection_id, created_after=since)
    return [job for job in jobs if job.status in RUNNING]


@contextlib.contextmanager
def _progress(client: Client, connection_id: str, log: logging.Logger) -> Iterator[None]:
    """Every 30 s while the upstream loop polls: the running job's rows so far."""
    start, stop = time.monotonic(), threading.Event()
    since = datetime.now() - timedelta(days=2)  # the window the upstream loop looks in

    def report() -> None:
        while not stop.wait(PROGRESS_EVERY_SECONDS):
            with contextlib.suppress(Exception):  # progress only: the loop reports failures
                for job in _running_jobs(client, connection_id, since):
                    log.info(
                        f"Airbyte job {job.id} {job.status}: {job.rows_synced or 0} rows "
                        f"after {time.monotonic() - start:.0f} s"
                    )

    thread = threading.Thread(target=report, name="airbyte-progress", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()


def _explain(client: Client, connection_id: str, name: str, exc: Failure, log) -> Exception:
    """dagster-airbyte's failure of ``sync_and_poll`` as adw's message; a failed request
    stays dagster-airbyte's own (its log says which)."""
    text = exc.description or ""
    found = re.search(r"\d+", text)
    job_id = int(found.group()) if found else None
    if text.startswith("Found"):  # "Found sync job ... already running.", "Found multiple ..."
        running = _running_jobs(client, connection_id, datetime.now() - timedelta(days=2))
        ids = ", ".join(str(j.id) for j in running) or "?"
        return AirbyteError(
            f"Airbyte job {ids} of connection '{name}' is already running. Wait for it to end "
            "or cancel it in the Airbyte UI, then materialize again."
        )
    if text.startswith("Timeout:"):  # the upstream loop cancelled the job
        return AirbyteError(
            f"Airbyte job {job_id} of connection '{name}' did not finish within "
            f"{client.poll_timeout:.0f} s (ADW_AIRBYTE_POLL_TIMEOUT).",
            job_id=job_id,
        )
    if text.startswith(("Job failed:", "Job was cancelled:")) and job_id is not None:
        status = "failed" if text.startswith("Job failed:") else "cancelled"
        with contextlib.suppress(Failure):  # "failed" or "error": the job says which
            status = client.get_job_details(job_id)["status"]
        reasons = failure_reasons(_job_attempts(client, job_id, log))
        said = "; ".join(reasons) if reasons else "Airbyte gave no reason"
        return AirbyteError(
            f"Airbyte job {job_id} of connection '{name}' {status}: {said}. "
            "The job's logs are in the Airbyte UI (connection > Timeline).",
            job_id=job_id,
            failures=reasons,
        )
    state = re.search(r"`(.*)` for job_id (\d+)", text)
    if state:
        return AirbyteError(
            f"Airbyte job {state[2]} of connection '{name}' is in the unknown state {state[1]!r}.",
            job_id=int(state[2]),
        )
    return exc


def sync_and_poll(
    client: Client, connection_id: str, log: logging.Logger | None = None
) -> SyncResult:
    """Sync the connection (all its selected streams) and wait; raise on failure.

    dagster-airbyte's loop honours the client's ``poll_interval``, ``poll_timeout``,
    ``cancel_on_termination`` and ``poll_previous_running_sync``; progress (rows so far,
    elapsed) is logged every 30 s.
    """
    log = log or logging.getLogger(__name__)
    try:
        connection = client.get_connection_details(connection_id)
    except Failure as exc:
        raise unreachable(client, f"connection {connection_id}", exc) from exc
    name = connection.get("name", connection_id)
    selected = connection.get("syncCatalog", {}).get("streams", [])
    n_streams = sum(1 for s in selected if s["config"]["selected"])
    log.info(f"Airbyte syncs connection '{name}' ({n_streams} streams)")
    start = time.monotonic()
    try:
        with _progress(client, connection_id, log):
            output = client.sync_and_poll(connection_id)
    except Failure as exc:
        raise _explain(client, connection_id, name, exc, log) from exc
    seconds = time.monotonic() - start
    job = output.job_details
    job_id = int(job["jobId"])
    attempts = _job_attempts(client, job_id, log)
    attempt = (attempts[-1].get("attempt") or attempts[-1]) if attempts else {}
    log.info(
        f"Airbyte job {job_id} succeeded in {seconds:.1f} s: {job.get('rowsSynced') or 0} rows, "
        f"{job.get('bytesSynced') or 0} bytes"
    )
    return SyncResult(
        job_id=job_id,
        job=job,
        connection=output.connection_details,
        seconds=seconds,
        attempt=attempt,
        stream_states=_stream_states(client, connection_id, log),
    )
