"""A stand-in for Omni's REST API: the endpoints dagster-omni 0.29 calls
(``dagster_omni/workspace.py``), with Omni's request and response shapes, on 127.0.0.1
(stdlib ``http.server``, one thread per request: the client fans out one request per document).

* ``GET /api/v1/documents?pageSize=N&include=_count[&cursor=C]``: ``{"records": [...],
  "pageInfo": {"nextCursor", "hasNextPage", "pageSize", "totalRecords"}}``; cursor pagination
  (an opaque cursor; at most ``max_page_size`` records a page, whatever ``pageSize`` asks);
  each record's ``_count`` (favorites, views) only with ``include=_count``.
* ``GET /api/v1/documents/{identifier}/queries``: ``{"queries": [{"id", "name", "query":
  {"table", "fields", ...}}]}``; 404 for a document without queries (as Omni answers) or
  an unknown one.
* ``GET /api/scim/v2/users?startIndex=I&count=N``: a SCIM ``ListResponse`` (1-based
  ``startIndex``).
* Every endpoint wants ``Authorization: Bearer <api_key>``: 401 otherwise.
* ``faults``: statuses answered, in order, to the next requests (429 with ``Retry-After``, or
  a 5xx), before any is served: what a rate-limited or failing Omni does.

It does not model Omni's permissions per user, document scopes other than the listing's,
filters of the listing (folder, label, owner) or the rate limit's real window.
"""

from __future__ import annotations

import base64
import json
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

SCIM_LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SCIM_USER = "urn:ietf:params:scim:schemas:core:2.0:User"


@dataclass
class Query:
    table: str
    fields: list[str]
    name: str = "query"


@dataclass
class Document:
    identifier: str
    name: str
    owner_id: str
    owner_name: str
    folder_path: str | None = None
    queries: list[Query] = field(default_factory=list)
    has_dashboard: bool = True
    deleted: bool = False
    updated_at: str = "2026-05-04T10:11:12.000Z"
    labels: list[str] = field(default_factory=list)
    favorites: int = 0
    views: int = 0

    def record(self, counts: bool) -> dict[str, Any]:
        """The listing's record of this document (Omni's ``DocumentListItem``)."""
        folder = None
        if self.folder_path:
            folder = {
                "id": f"folder-{self.folder_path}",
                "name": self.folder_path.rsplit("/", 1)[-1],
                "path": self.folder_path,
                "scope": "organization",
            }
        body = {
            "identifier": self.identifier,
            "name": self.name,
            "type": "document",
            "scope": "organization",
            "connectionId": "c0ffee00-0000-4000-8000-000000000001",
            "deleted": self.deleted,
            "hasDashboard": self.has_dashboard,
            "updatedAt": self.updated_at,
            "owner": {"id": self.owner_id, "name": self.owner_name},
            "folder": folder,
            "labels": self.labels,
        }
        if counts:
            body["_count"] = {"favorites": self.favorites, "views": self.views}
        return body


@dataclass
class User:
    id: str
    user_name: str
    display_name: str
    email: str

    def resource(self) -> dict[str, Any]:
        return {
            "schemas": [SCIM_USER],
            "id": self.id,
            "userName": self.user_name,
            "displayName": self.display_name,
            "active": True,
            "emails": [{"primary": True, "value": self.email}],
            "groups": [{"display": "Analysts", "value": "g-1"}],
            "meta": {
                "resourceType": "User",
                "created": "2025-01-02T03:04:05.000Z",
                "lastModified": "2026-01-02T03:04:05.000Z",
            },
        }


class OmniStandIn:
    """``with OmniStandIn(api_key, documents, users) as omni: ... omni.url ...``"""

    def __init__(
        self,
        api_key: str,
        documents: list[Document],
        users: list[User],
        *,
        max_page_size: int = 100,
    ) -> None:
        self.api_key = api_key
        self.documents = documents
        self.users = users
        self.max_page_size = max_page_size
        self.faults: deque[int] = deque()
        self.requests: list[tuple[str, dict[str, list[str]], int]] = []
        """(path, query, status) of every request, in the order answered."""
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> OmniStandIn:
        server_class = type(
            "Server",
            (ThreadingHTTPServer,),
            # many connections at once (a request per document); a client that hangs up is
            # no error of the stand-in's
            {"request_queue_size": 256, "handle_error": lambda self, request, address: None},
        )
        self._server = server_class(("127.0.0.1", 0), _handler(self))
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.shutdown()
        self._server.server_close()

    def paths(self) -> list[str]:
        return [path for path, _, _ in self.requests]

    def handle(self, url: str, headers) -> tuple[int, Any, dict[str, str]]:
        parts = urlsplit(url)
        path, query = parts.path.rstrip("/"), parse_qs(parts.query)
        status, body, extra = self._answer(path, query, headers)
        with self._lock:
            self.requests.append((path, query, status))
        return status, body, extra

    def _answer(self, path: str, query: dict, headers) -> tuple[int, Any, dict[str, str]]:
        if headers.get("Authorization") != f"Bearer {self.api_key}":
            return 401, {"detail": "Unauthorized", "status": 401}, {}
        with self._lock:
            fault = self.faults.popleft() if self.faults else None
        if fault == 429:
            return 429, {"detail": "Too many requests", "status": 429}, {"Retry-After": "1"}
        if fault is not None:
            return fault, {"detail": "Internal error", "status": fault}, {}
        if path == "/api/v1/documents":
            return 200, self._documents(query), {}
        if path.startswith("/api/v1/documents/") and path.endswith("/queries"):
            identifier = path.split("/")[4]
            doc = next((d for d in self.documents if d.identifier == identifier), None)
            if doc is None or not doc.queries:
                return 404, {"detail": "Not found", "status": 404}, {}
            return 200, {"queries": [_query(doc, i, q) for i, q in enumerate(doc.queries)]}, {}
        if path == "/api/scim/v2/users":
            return 200, self._users(query), {}
        return 404, {"detail": f"no route {path}", "status": 404}, {}

    def _documents(self, query: dict) -> dict[str, Any]:
        size = min(int(query.get("pageSize", ["20"])[0]), self.max_page_size)
        cursor = query.get("cursor", [None])[0]
        start = int(base64.urlsafe_b64decode(cursor).decode().split(":")[1]) if cursor else 0
        counts = "_count" in query.get("include", [""])[0].split(",")
        page = self.documents[start : start + size]
        more = start + size < len(self.documents)
        next_cursor = _cursor(start + size) if more else None
        return {
            "records": [doc.record(counts) for doc in page],
            "pageInfo": {
                "hasNextPage": more,
                "nextCursor": next_cursor,
                "pageSize": size,
                "totalRecords": len(self.documents),
            },
        }

    def _users(self, query: dict) -> dict[str, Any]:
        start = max(1, int(query.get("startIndex", ["1"])[0]))
        count = max(0, int(query.get("count", ["100"])[0]))
        page = self.users[start - 1 : start - 1 + count]
        return {
            "schemas": [SCIM_LIST],
            "totalResults": len(self.users),
            "itemsPerPage": len(page),
            "startIndex": start,
            "Resources": [user.resource() for user in page],
        }


def _cursor(offset: int) -> str:
    """An opaque cursor, as Omni's are."""
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode()


def _query(doc: Document, index: int, query: Query) -> dict[str, Any]:
    return {
        "id": f"{doc.identifier}-q{index}",
        "name": query.name,
        "query": {
            "table": query.table,
            "fields": query.fields,
            "limit": 1000,
            "sorts": [],
            "filters": {},
            "modelId": "m-1",
        },
    }


def _handler(stand_in: OmniStandIn) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_GET(self) -> None:
            status, payload, extra = stand_in.handle(self.path, self.headers)
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in extra.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args) -> None:  # quiet test output
            pass

    return Handler
