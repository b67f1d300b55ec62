"""Start an Airbyte sync of the connection and poll it to the end, with progress and errors
that say what Airbyte said.

dagster-airbyte's own ``sync_and_poll`` reports a failed job as ``Job failed: <id>``; this
loop asks the configuration API (``POST /jobs/get``) for the attempt's ``failureSummary``
and puts Airbyte's message in the error, and reads per-stream stats and cursors
(``POST /state/get``) for the materialization metadata. It uses dagster-airbyte's
``AirbyteClient`` for every request (auth, retries, timeouts).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from dagster import Failure
from dagster_airbyte.resources import AirbyteClient

from adw_assets.lib.airbyte.api import AirbyteError, config_api, unreachable

RUNNING = ("running", "pending", "incomplete")
SUCCEEDED = "succeeded"
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


def _job_attempts(client: AirbyteClient, job_id: int, log: logging.Logger) -> list[Mapping]:
    try:
        return list(config_api(client, "/jobs/get", {"id": job_id}).get("attempts") or [])
    except Failure as exc:
        log.warning(f"could not read the attempts of Airbyte job {job_id}: {exc.description}")
        return []


def _stream_states(
    client: AirbyteClient, connection_id: str, log: logging.Logger
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


def _reach(client: AirbyteClient, connection_id: str) -> Mapping[str, Any]:
    try:
        return client.get_connection_details(connection_id)
    except Failure as exc:
        raise unreachable(client, f"connection {connection_id}", exc) from exc


def _start_or_resume(client: AirbyteClient, connection_id: str, name: str) -> int:
    running = [
        job
        for job in client.get_jobs_for_connection(
            connection_id, created_after=datetime.now() - timedelta(days=2)
        )
        if job.status in RUNNING
    ]
    if not running:
        return int(client.start_sync_job(connection_id)["jobId"])
    if client.poll_previous_running_sync and len(running) == 1:
        return int(running[0].id)
    ids = ", ".join(str(j.id) for j in running)
    raise AirbyteError(
        f"Airbyte job {ids} of connection '{name}' is already running. Wait for it to end or "
        "cancel it in the Airbyte UI, then materialize again."
    )


def sync_and_poll(
    client: AirbyteClient, connection_id: str, log: logging.Logger | None = None
) -> SyncResult:
    """Sync the connection (all its selected streams) and wait; raise on failure.

    Honours the client's ``poll_interval``, ``poll_timeout``, ``cancel_on_termination`` and
    ``poll_previous_running_sync``. Logs progress (rows so far, elapsed) every 30 s.
    """
    log = log or logging.getLogger(__name__)
    connection = _reach(client, connection_id)
    name = connection.get("name", connection_id)
    job_id = _start_or_resume(client, connection_id, name)
    n_streams = sum(
        1 for s in connection.get("syncCatalog", {}).get("streams", []) if s["config"]["selected"]
    )
    log.info(f"Airbyte job {job_id} syncs connection '{name}' ({n_streams} streams)")
    start = time.monotonic()
    last_progress = start
    status = "pending"
    try:
        while True:
            elapsed = time.monotonic() - start
            if client.poll_timeout and elapsed > client.poll_timeout:
                raise AirbyteError(
                    f"Airbyte job {job_id} of connection '{name}' did not finish within "
                    f"{client.poll_timeout:.0f} s (ADW_AIRBYTE_POLL_TIMEOUT).",
                    job_id=job_id,
                )
            time.sleep(client.poll_interval)
            job = client.get_job_details(job_id)
            status = job["status"]
            if status in RUNNING:
                if time.monotonic() - last_progress >= PROGRESS_EVERY_SECONDS:
                    last_progress = time.monotonic()
                    log.info(
                        f"Airbyte job {job_id} {status}: {job.get('rowsSynced') or 0} rows "
                        f"after {time.monotonic() - start:.0f} s"
                    )
                continue
            if status == SUCCEEDED:
                break
            if status in FAILED:
                reasons = failure_reasons(_job_attempts(client, job_id, log))
                said = "; ".join(reasons) if reasons else "Airbyte gave no reason"
                raise AirbyteError(
                    f"Airbyte job {job_id} of connection '{name}' {status}: {said}. "
                    "The job's logs are in the Airbyte UI (connection > Timeline).",
                    job_id=job_id,
                    failures=reasons,
                )
            raise AirbyteError(
                f"Airbyte job {job_id} of connection '{name}' is in the unknown state {status!r}.",
                job_id=job_id,
            )
    finally:
        if client.cancel_on_termination and status in RUNNING:
            log.warning(f"cancelling Airbyte job {job_id}")
            client.cancel_job(job_id)
    seconds = time.monotonic() - start
    attempts = _job_attempts(client, job_id, log)
    attempt = (attempts[-1].get("attempt") or attempts[-1]) if attempts else {}
    log.info(
        f"Airbyte job {job_id} succeeded in {seconds:.1f} s: {job.get('rowsSynced') or 0} rows, "
        f"{job.get('bytesSynced') or 0} bytes"
    )
    return SyncResult(
        job_id=job_id,
        job=job,
        connection=connection,
        seconds=seconds,
        attempt=attempt,
        stream_states=_stream_states(client, connection_id, log),
    )
