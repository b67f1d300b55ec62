"""`adw launch` when the webserver cannot answer: one line naming the URL and what to do (the
live answers, unknown job and bad config, are in tests/kestra/test_contract.py)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

ADW = str(Path(sys.executable).with_name("adw"))


def _launch(url: str, home: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADW_")}
    env["ADW_HOME"] = str(home)
    return subprocess.run(
        [ADW, "launch", "elt_job", "--wait", "--url", url],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip


def test_an_unreachable_webserver_is_one_line_saying_how_to_start_it(tmp_path):
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/graphql"

    done = _launch(url, tmp_path)

    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    (line,) = done.stderr.strip().splitlines()
    assert line.startswith(f"error: cannot reach the Dagster webserver at {url} (")
    assert "start it with `adw dev` or set ADW_DAGSTER_URL" in line


class _Refusing(BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # an auth proxy in front of the webserver
        self.send_response(401)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(b"missing bearer token")

    def log_message(self, format: str, *args) -> None:
        pass


def test_an_http_error_is_one_line_with_the_status_and_the_answer(tmp_path):
    server = HTTPServer(("127.0.0.1", 0), _Refusing)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/graphql"
    try:
        done = _launch(url, tmp_path)
    finally:
        server.shutdown()
        server.server_close()

    assert done.returncode == 1
    assert done.stderr.strip().splitlines() == [
        f"error: Dagster GraphQL at {url} answered HTTP 401: missing bearer token"
    ]
