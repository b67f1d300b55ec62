"""The containers stage: `.ci/containers.sh` brings the compose stack up, sets CONTAINERS_SMOKE_*
and runs ``pytest tests/containers -m containers``. Without it the stack tests skip.

(The variables do not start with ``ADW_``: the root conftest clears those for every test.)
"""

from __future__ import annotations

import json
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "containers: needs the compose stack .ci/containers.sh brings up (else skips)"
    )


@dataclass(frozen=True)
class Stack:
    """The running compose stack, reached from the host."""

    url: str
    """GraphQL endpoint of the webserver, e.g. http://127.0.0.1:3000/graphql."""
    engine: str
    """``podman`` or ``docker``."""
    project: str
    results: Path | None

    def container(self, service: str) -> str:
        labels = (
            f"com.docker.compose.project={self.project}",
            f"com.docker.compose.service={service}",
        )
        ids = subprocess.run(
            [
                self.engine,
                "ps",
                "-q",
                "--filter",
                f"label={labels[0]}",
                "--filter",
                f"label={labels[1]}",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.split()
        assert ids, f"no running container for service {service} in project {self.project}"
        return ids[0]

    def exec(self, service: str, *argv: str) -> str:
        """Run a command in the service's container; its stdout."""
        done = subprocess.run(
            [self.engine, "exec", self.container(service), *argv],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert done.returncode == 0, f"{argv} in {service} failed:\n{done.stdout}{done.stderr}"
        return done.stdout

    def record(self, **figures: float) -> None:
        """Add figures to the results file the CI script prints."""
        if self.results is None:
            return
        data = json.loads(self.results.read_text()) if self.results.exists() else {}
        data.update(figures)
        self.results.write_text(json.dumps(data))


@pytest.fixture(scope="session")
def stack() -> Stack:
    url = os.environ.get("CONTAINERS_SMOKE_URL")
    if not url:
        pytest.skip(
            "needs the compose stack: run `bash .ci/containers.sh` (it builds the images, "
            "brings the stack up and runs these tests with CONTAINERS_SMOKE_URL set)"
        )
    results = os.environ.get("CONTAINERS_SMOKE_RESULTS")
    return Stack(
        url=url,
        engine=os.environ.get("CONTAINERS_SMOKE_ENGINE", "podman"),
        project=os.environ.get("CONTAINERS_SMOKE_PROJECT", "adw-ci"),
        results=Path(results) if results else None,
    )
