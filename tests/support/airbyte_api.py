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

import json
import secrets
import threading
import time
import uuid
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import psycopg

from adw_assets.lib.airbyte.catalog import introspect, recommended_connection
from adw_assets.lib.replication import replicate

REST = "/api/public/v1"
CONFIG = "/api/v1"


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


class AirbyteStandIn:
    """``with AirbyteStandIn(source_dsn, duckdb_path) as airbyte: ... airbyte.url ...``"""

    def __init__(
        self,
        source_dsn: str,
        duckdb_path: Path,
        *,
        raw_prefix: str = "raw_",
        destination_type: str = "duckdb",
        client_id: str = "adw-test-client",
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
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
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
            self.duckdb_path,
            prefix=fmt[: -len("${SOURCE_NAMESPACE}")],
            streams=[
                f"{s.namespace}.{s.name}"
                for s in self.streams
                if f"{s.namespace}.{s.name}" in selected
            ],
            lag_seconds=0,
            retries=0,
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

    def state(self) -> dict[str, Any]:
        """The configuration API's ConnectionState: per-stream cursor, as the Postgres source
        keeps it."""
        return {
            "stateType": "stream",
            "connectionId": self.connection_id,
            "streamState": [
                {
                    "streamDescriptor": {"name": s.name, "namespace": s.namespace},
                    "streamState": {
                        "version": 2,
                        "state_type": "cursor_based",
                        "stream_name": s.name,
                        "stream_namespace": s.namespace,
                        "cursor_field": ["modifieddate"],
                        "cursor": self.cursors[s.name],
                        "cursor_record_count": 1,
                    },
                }
                for s in self.streams
                if self.cursors.get(s.name)
            ],
        }

    # -- request handling ------------------------------------------------------------------
    def handle(self, method: str, url: str, headers, body: Any) -> tuple[int, Any]:
        parts = urlsplit(url)
        path, query = parts.path.rstrip("/"), parse_qs(parts.query)
        if method == "POST" and path == f"{REST}/applications/token":
            body = body or {}
            if body.get("client_id") == self.client_id and (
                body.get("client_secret") == self.client_secret
            ):
                token = secrets.token_urlsafe(24)
                self._tokens.add(token)
                return 200, {"access_token": token, "token_type": "Bearer", "expires_in": 180}
            return _problem(401, "invalid client credentials")
        auth = headers.get("Authorization") or ""
        if not auth.startswith("Bearer ") or auth[len("Bearer ") :] not in self._tokens:
            return _problem(401, "missing or invalid bearer token")
        return self._route(method, path, query, body or {})

    def _route(self, method: str, path: str, query: dict, body: dict) -> tuple[int, Any]:
        segments = path.split("/")
        if path.startswith(REST):
            resource = segments[4:]
            key = (method, resource[0] if resource else "", len(resource))
            if key == ("GET", "workspaces", 2):
                if resource[1] != self.workspace_id:
                    return _problem(404, f"workspace {resource[1]} not found")
                return 200, {
                    "workspaceId": self.workspace_id,
                    "name": "adw",
                    "dataResidency": "auto",
                }
            if key == ("GET", "connections", 1):
                rows = [self._public_connection()]
                if self.workspace_id not in query.get("workspaceIds", [self.workspace_id]):
                    rows = []
                return 200, self._page(path, query, rows)
            if key == ("GET", "connections", 2):
                if resource[1] != self.connection_id:
                    return _problem(404, f"connection {resource[1]} not found")
                return 200, self._public_connection()
            if key == ("GET", "destinations", 2):
                if resource[1] != self.destination_id:
                    return _problem(404, f"destination {resource[1]} not found")
                return 200, self.destination
            if key == ("POST", "jobs", 1):
                if body.get("connectionId") != self.connection_id or body.get("jobType") != "sync":
                    return _problem(400, f"cannot start a {body.get('jobType')} job for that")
                if any(j.status in ("pending", "running") for j in self.jobs.values()):
                    return _problem(409, "a sync is already running for this connection")
                return 200, self._start_job(self.connection_id).public()
            if key == ("GET", "jobs", 1):
                return 200, self._page(path, query, self._list_jobs(query))
            if key[1] == "jobs" and key[2] == 2 and method in ("GET", "DELETE"):
                job = self.jobs.get(int(resource[1])) if resource[1].isdigit() else None
                if job is None:
                    return _problem(404, f"job {resource[1]} not found")
                if method == "DELETE" and job.status in ("pending", "running"):
                    job.status, job.updated, job.ended = "cancelled", time.time(), time.time()
                return 200, job.public()
        elif path.startswith(CONFIG) and method == "POST":
            endpoint = "/".join(segments[3:])
            if endpoint in ("connections/get", "state/get"):
                if body.get("connectionId") != self.connection_id:
                    return _problem(404, f"connection {body.get('connectionId')} not found")
                return 200, (self.connection if endpoint == "connections/get" else self.state())
            if endpoint == "jobs/get":
                job = self.jobs.get(body.get("id"))
                if job is None:
                    return _problem(404, f"job {body.get('id')} not found")
                return 200, self._job_info(job)
        return _problem(404, f"no route {method} {path}")

    def _public_connection(self) -> dict[str, Any]:
        c = self.connection
        return {
            "connectionId": c["connectionId"],
            "name": c["name"],
            "sourceId": c["sourceId"],
            "destinationId": c["destinationId"],
            "workspaceId": c["workspaceId"],
            "status": "active",
            "schedule": {"scheduleType": "manual"},
            "namespaceDefinition": "custom_format",
            "namespaceFormat": c["namespaceFormat"],
            "prefix": c["prefix"],
            "nonBreakingSchemaUpdatesBehavior": "propagate_columns",
            "dataResidency": "auto",
            "configurations": {
                "streams": [
                    {
                        "name": s["stream"]["name"],
                        "syncMode": "incremental_deduped_history",
                        "cursorField": s["config"]["cursorField"],
                        "primaryKey": s["config"]["primaryKey"],
                    }
                    for s in c["syncCatalog"]["streams"]
                    if s["config"]["selected"]
                ]
            },
        }

    def _list_jobs(self, query: dict) -> list[dict[str, Any]]:
        jobs = sorted(self.jobs.values(), key=lambda j: j.id, reverse=True)
        if "connectionId" in query:
            jobs = [j for j in jobs if j.connection_id == query["connectionId"][0]]
        if "createdAtStart" in query:
            start = datetime.strptime(query["createdAtStart"][0], "%Y-%m-%dT%H:%M:%SZ")
            jobs = [j for j in jobs if j.created >= start.replace(tzinfo=UTC).timestamp()]
        if "status" in query:
            jobs = [j for j in jobs if j.status == query["status"][0]]
        return [j.public() for j in jobs]

    def _page(self, path: str, query: dict, rows: list) -> dict[str, Any]:
        limit = min(int(query.get("limit", ["20"])[0]), self.page_size_cap)
        offset = int(query.get("offset", ["0"])[0])
        flat = {k: v[0] for k, v in query.items()}
        base = f"{self.url}{path}?"
        page = {"data": rows[offset : offset + limit]}
        if offset + limit < len(rows):
            page["next"] = base + urlencode({**flat, "limit": limit, "offset": offset + limit})
        if offset > 0:
            page["previous"] = base + urlencode(
                {**flat, "limit": limit, "offset": max(0, offset - limit)}
            )
        return page

    def _job_info(self, job: Job) -> dict[str, Any]:
        """The configuration API's JobInfoRead."""
        return {
            "job": {
                "id": job.id,
                "configType": "sync",
                "configId": job.connection_id,
                "createdAt": int(job.created),
                "updatedAt": int(job.updated or job.created),
                "startedAt": int(job.created),
                "status": job.status,
            },
            "attempts": [{"attempt": job.attempt, "logs": {"logLines": []}}] if job.attempt else [],
        }


def _problem(status: int, detail: str) -> tuple[int, dict[str, Any]]:
    """Airbyte's error body (RFC 7807 problem details)."""
    return status, {
        "type": "https://reference.airbyte.com/reference/errors",
        "title": {400: "bad-request", 401: "unauthorized", 404: "not-found", 409: "conflict"}.get(
            status, "error"
        ),
        "status": status,
        "detail": detail,
    }


def _handler(stand_in: AirbyteStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _serve(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            try:
                body = json.loads(raw) if raw else None
                status, payload = stand_in.handle(self.command, self.path, self.headers, body)
            except ValueError as exc:
                status, payload = _problem(400, f"bad request: {exc}")
            stand_in.requests.append((self.command, urlsplit(self.path).path, status))
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        do_GET = do_POST = do_DELETE = _serve

        def log_message(self, format: str, *args) -> None:  # quiet test output
            pass

    return Handler
