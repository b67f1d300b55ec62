"""A fault in front of the live Dagster: an HTTP proxy whose first launch requests fail.

Everything else is forwarded unchanged to the real GraphQL endpoint, so a flow sees exactly
what a load balancer in front of Dagster answering 503 once would show it.
"""

from __future__ import annotations

import threading
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FlakyLaunches:
    """``with FlakyLaunches(target, failures=1) as proxy:`` then point the flow at proxy.url."""

    def __init__(self, target: str, failures: int = 1):
        self.target = target
        self.failures = failures
        self.launch_requests = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/graphql"

    def __enter__(self) -> FlakyLaunches:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _fail_this_one(self, body: bytes) -> bool:
        if b"launchPipelineExecution" not in body:
            return False
        with self._lock:
            self.launch_requests += 1
            return self.launch_requests <= self.failures

    def _handler(self):
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                if proxy._fail_this_one(body):
                    self._answer(503, b"upstream unavailable")
                    return
                request = urllib.request.Request(proxy.target, data=body, method="POST")
                request.add_header("Content-Type", self.headers.get("Content-Type", ""))
                try:
                    with urllib.request.urlopen(request, timeout=60) as response:
                        self._answer(response.status, response.read())
                except urllib.error.HTTPError as exc:
                    self._answer(exc.code, exc.read())

            def _answer(self, code: int, payload: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args) -> None:
                pass

        return Handler
