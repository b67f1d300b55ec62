"""A stand-in for a self-managed Airbyte (>= 1.7): the HTTP endpoints dagster-airbyte 0.29 and
adw call, with Airbyte's request and response shapes, on 127.0.0.1 (stdlib ``http.server``).

Public API (``/api/public/v1``): ``POST /applications/token``, ``GET /workspaces/{id}``,
``GET /connections`` (paginated), ``GET /connections/{id}``, ``GET /destinations/{id}``,
``POST /jobs``, ``GET /jobs`` (paginated), ``GET /jobs/{id}``, ``DELETE /jobs/{id}``.
Configuration API (``/api/v1``): ``POST /connections/get``, ``POST /jobs/get``,
``POST /state/get``. Every endpoint but the token one wants ``Authorization: Bearer <token>``.

A sync job runs in a thread: by default it succeeds and really writes the connection's
streams into the test's DuckDB warehouse, in the Destinations v2 layout, with the embedded
replicator (the engine that writes these same tables locally); queue :class:`JobOutcome`
values in ``outcomes`` to make jobs fail with an Airbyte failure reason.
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg

from adw_assets.lib.airbyte.catalog import introspect, recommended_connection
from adw_assets.lib.mappings import Mappings, from_connection
from adw_assets.lib.replication import DuckDBDestination, replicate
from tests.support.airbyte_api_http import AirbyteRoutes, handler


@dataclass
class JobOutcome:
    """What the next sync job does: succeed (writing the tables) or fail with ``message``."""

    status: str = "succeeded"
    message: str | None = None
    failure_origin: str = "source"
    failure_type: str = "config_error"
    seconds: float = 0.3
    """How long the job stays ``running`` at least."""


@dataclass
class Job:
    id: int
    connection_id: str
    created: float
    status: str = "pending"
    updated: float = 0.0
    ended: float | None = None
    attempt: dict[str, Any] = field(default_factory=dict)

    def public(self) -> dict[str, Any]:
        """The public API's JobResponse."""
        end = self.ended or time.time()
        body = {
            "jobId": self.id,
            "status": self.status,
            "jobType": "sync",
            "connectionId": self.connection_id,
            "startTime": _iso(self.created),
            "lastUpdatedAt": _iso(self.updated or self.created),
            "duration": f"PT{max(0, round(end - self.created))}S",
        }
        totals = self.attempt.get("totalStats") or {}
        if totals:
            body["rowsSynced"] = totals.get("recordsCommitted", 0)
        return body


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class AirbyteStandIn(AirbyteRoutes):
    """``with AirbyteStandIn(source_dsn, duckdb_path) as airbyte: ... airbyte.url ...``"""

    def __init__(
        self,
        source_dsn: str,
        duckdb_path: Path,
        *,
        raw_prefix: str = "raw_",
        destination_type: str = "duckdb",
        client_id: str = "adw-test-client",
        mappings: Mappings | None = None,
    ):
        self.source_dsn = source_dsn
        self.duckdb_path = Path(duckdb_path)
        self.client_id = client_id
        self.client_secret = secrets.token_urlsafe(16)
        self.workspace_id = str(uuid.uuid4())
        self.connection_id = str(uuid.uuid4())
        self.destination_id = str(uuid.uuid4())
        self.source_id = str(uuid.uuid4())
        with psycopg.connect(source_dsn) as conn:
            self.streams = introspect(conn)
        self.connection = recommended_connection(
            self.streams,
            raw_prefix=raw_prefix,
            connection_id=self.connection_id,
            workspace_id=self.workspace_id,
            source_id=self.source_id,
            destination_id=self.destination_id,
            mappings=mappings,
        )
        self.destination = {
            "destinationId": self.destination_id,
            "name": "adw warehouse",
            "destinationType": destination_type,
            "definitionId": "94bd199c-2ff0-4aa2-b98e-17f0acb72610",
            "workspaceId": self.workspace_id,
            "createdAt": int(time.time()),
            "configuration": {
                "destination_path": str(self.duckdb_path),
                "schema": "main",
                "motherduck_api_key": "**********",
            },
        }
        self.outcomes: deque[JobOutcome] = deque()
        self.requests: list[tuple[str, str, int]] = []
        """Every request served: ``(method, path, status)``."""
        self.jobs: dict[int, Job] = {}
        self.cursors: dict[str, str | None] = {}
        self.page_size_cap = 100
        """At most this many items per page of a list, whatever ``limit`` asks."""
        self.other_connections: list[dict[str, Any]] = []
        """More connections of the workspace (public API shape), listed before this one."""
        self._tokens: set[str] = set()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._server: ThreadingHTTPServer | None = None

    # -- lifecycle -------------------------------------------------------------------------
    @property
    def url(self) -> str:
        assert self._server is not None, "start() the stand-in first"
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def start(self) -> AirbyteStandIn:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        for t in self._threads:
            t.join(timeout=30)
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> AirbyteStandIn:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def env(self) -> dict[str, str]:
        """The ``ADW_AIRBYTE_*`` variables that point adw at this stand-in."""
        return {
            "ADW_REPLICATION": "airbyte",
            "ADW_AIRBYTE_URL": self.url,
            "ADW_AIRBYTE_WORKSPACE_ID": self.workspace_id,
            "ADW_AIRBYTE_CONNECTION_ID": self.connection_id,
            "ADW_AIRBYTE_CLIENT_ID": self.client_id,
            "ADW_AIRBYTE_CLIENT_SECRET": self.client_secret,
            "ADW_AIRBYTE_POLL_INTERVAL": "0.1",
        }

    # -- jobs ------------------------------------------------------------------------------
    def run_job(self) -> Job:
        """Run a sync job of the connection to its end, as if started in the Airbyte UI."""
        job = self._start_job(self.connection_id)
        self._threads[-1].join(timeout=60)
        return job

    def _start_job(self, connection_id: str) -> Job:
        with self._lock:
            job = Job(id=len(self.jobs) + 1, connection_id=connection_id, created=time.time())
            self.jobs[job.id] = job
            outcome = self.outcomes.popleft() if self.outcomes else JobOutcome()
        thread = threading.Thread(target=self._run_job, args=(job, outcome), daemon=True)
        self._threads.append(thread)
        thread.start()
        return job

    def _run_job(self, job: Job, outcome: JobOutcome) -> None:
        start = time.time()
        job.status, job.updated = "running", start
        job.attempt = {"id": 0, "status": "running", "createdAt": int(start)}
        failure = None
        stats: list[dict[str, Any]] = []
        if outcome.status == "succeeded":
            try:
                stats = self._write(job.id)
            except Exception as exc:  # a destination error fails the job, as in Airbyte
                failure = ("destination", "system_error", f"{type(exc).__name__}: {exc}")
        else:
            failure = (outcome.failure_origin, outcome.failure_type, outcome.message or "")
        while time.time() < start + outcome.seconds and job.status != "cancelled":
            time.sleep(0.05)
        if job.status == "cancelled":
            return
        now = time.time()
        committed = sum(s["stats"]["recordsCommitted"] for s in stats)
        job.attempt.update(
            status="failed" if failure else "succeeded",
            updatedAt=int(now),
            endedAt=int(now),
            recordsSynced=committed,
            totalStats={"recordsEmitted": committed, "recordsCommitted": committed},
            streamStats=stats,
        )
        if failure:
            origin, kind, message = failure
            job.attempt["failureSummary"] = {
                "failures": [
                    {
                        "failureOrigin": origin,
                        "failureType": kind,
                        "externalMessage": message,
                        "internalMessage": message,
                        "stacktrace": f"io.airbyte.workers.exception.WorkerException: {message}",
                        "retryable": False,
                        "timestamp": int(now * 1000),
                    }
                ],
                "partialSuccess": False,
            }
        job.status, job.updated, job.ended = ("failed" if failure else "succeeded"), now, now

    def _mappings(self) -> Mappings:
        hashing = []
        for s in self.connection["syncCatalog"]["streams"]:
            name = f"{s['stream']['namespace']}.{s['stream']['name']}"
            hashing += from_connection(name, s["config"].get("mappers")).hashing
        return Mappings(tuple(hashing))

    def _write(self, job_id: int) -> list[dict[str, Any]]:
        """Sync the selected streams with the embedded engine, read with ``>=`` the cursor
        and no lag window, as Airbyte does; a failed stream fails the job."""
        selected = {
            f"{s['stream']['namespace']}.{s['stream']['name']}"
            for s in self.connection["syncCatalog"]["streams"]
            if s["config"]["selected"]
        }
        fmt = self.connection["namespaceFormat"]
        if not fmt.endswith("${SOURCE_NAMESPACE}"):
            raise ValueError(f"the stand-in writes prefix formats only, not {fmt!r}")
        result = replicate(
            self.source_dsn,
            DuckDBDestination(self.duckdb_path),
            prefix=fmt[: -len("${SOURCE_NAMESPACE}")],
            streams=[
                f"{s.namespace}.{s.name}"
                for s in self.streams
                if f"{s.namespace}.{s.name}" in selected
            ],
            lag_seconds=0,
            retries=0,
            # as Airbyte: the connection's hashing mappers, applied before the destination
            mappings=self._mappings(),
        )
        result.raise_for_failures()
        stats = []
        for r in result.streams:
            self.cursors[r.table] = r.cursor.isoformat(sep="T") if r.cursor else None
            stats.append(
                {
                    "streamName": r.table,
                    "streamNamespace": r.stream.split(".", 1)[0],
                    "stats": {"recordsEmitted": r.rows_read, "recordsCommitted": r.rows_read},
                }
            )
        return stats
