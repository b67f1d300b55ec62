"""The HTTP side of the Airbyte stand-in (:mod:`tests.support.airbyte_api`): routing, auth,
Airbyte's response shapes, pagination and RFC 7807 errors."""

from __future__ import annotations

import json
import secrets
import time
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

REST = "/api/public/v1"
CONFIG = "/api/v1"


class AirbyteRoutes:
    """Mixin of :class:`AirbyteStandIn`: answers one request from the stand-in's state."""

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
                rows = [*self.other_connections, self._public_connection()]
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

    def _job_info(self, job) -> dict[str, Any]:
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


def handler(stand_in: AirbyteRoutes) -> type[BaseHTTPRequestHandler]:
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
