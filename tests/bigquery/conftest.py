"""The BigQuery API emulator for the ``bigquery`` tests, started on 127.0.0.1 by the session.

The emulator (bqemulator) and dbt-bigquery live in their own environment, ``.venv-bq``
(``bash .ci/bigquery-env.sh`` creates it); without it every test here skips, saying so. The
app talks to the emulator with google-cloud-bigquery from ``.venv`` (``ADW_BQ_ENDPOINT``),
dbt from ``.venv-bq`` with the ``emulator`` target of dbt/profiles.yml. Each test gets its own
project id, so tests share the emulator without seeing each other's datasets.
"""

from __future__ import annotations

import os
import subprocess
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.conftest import REPO_ROOT
from tests.support.processes import free_port, stop

VENV_BQ = REPO_ROOT / ".venv-bq"
EMULATOR_MAIN = Path(__file__).with_name("emulator_main.py")
START_TIMEOUT = 90.0


def _require_venv_bq() -> Path:
    python = VENV_BQ / "bin" / "python"
    if not (python.exists() and (VENV_BQ / "bin" / "bqemulator").exists()):
        pytest.skip(
            f"the BigQuery emulator environment {VENV_BQ} is missing: run "
            "`bash .ci/bigquery-env.sh` (bqemulator, dbt-bigquery) to run the bigquery tests"
        )
    return python


@pytest.fixture(scope="session")
def bq_emulator(tmp_path_factory) -> str:
    """The emulator's base URL (in memory, on a free loopback port), for the whole session."""
    python = _require_venv_bq()
    port = free_port()
    workdir = tmp_path_factory.mktemp("bqemulator")
    log = open(workdir / "emulator.log", "wb")  # noqa: SIM115 - closed below
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ADW_", "GOOGLE_"))}
    # no extension downloads at run time (Avro/ORC loads are unused here)
    env["BQEMU_ENABLE_FORMAT_EXTENSIONS"] = "false"
    command = [str(python), str(EMULATOR_MAIN), "start", "--rest-host", "127.0.0.1",
               "--rest-port", str(port), "--grpc-host", "127.0.0.1", "--grpc-port", "0",
               "--project", "adw-emulator", "--log-level", "warning"]  # fmt: skip
    proc = subprocess.Popen(command, cwd=workdir, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + START_TIMEOUT
    try:
        while True:
            if proc.poll() is not None:
                raise RuntimeError(
                    f"the BigQuery emulator exited ({proc.returncode}): "
                    + (workdir / "emulator.log").read_text(errors="replace")[-3000:]
                )
            try:
                with urllib.request.urlopen(
                    f"{url}/bigquery/v2/projects/adw-emulator/datasets", timeout=2
                ) as response:
                    if response.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the BigQuery emulator did not answer on {url}")
            time.sleep(0.2)
        yield url
    finally:
        stop(proc)
        log.close()


def bigquery_env(endpoint: str, project: str) -> dict[str, str]:
    """The ``ADW_*`` settings of a warehouse in the emulator."""
    return {
        "ADW_WAREHOUSE": "bigquery",
        "ADW_BQ_PROJECT": project,
        "ADW_BQ_ENDPOINT": endpoint,
        "ADW_BQ_LOCATION": "US",
        "ADW_BQ_DATASET_PREFIX": "adw_",
        "ADW_DBT_TARGET": "emulator",
        # off the local default a salt is required (dead letters and staging hash with it)
        "ADW_CARD_HASH_SALT": "a-test-salt-of-the-emulator",
        # dbt-bigquery lives in .venv-bq (it pins libraries Dagster needs newer)
        "ADW_DBT_EXECUTABLE": str(VENV_BQ / "bin" / "dbt"),
    }


def new_project() -> str:
    return f"adw-{uuid.uuid4().hex[:10]}"


@pytest.fixture
def bq_warehouse(bq_emulator, adw_home, monkeypatch) -> str:
    """``ADW_WAREHOUSE=bigquery`` on a fresh emulator project; returns the project id."""
    from adw_assets.settings import get_settings

    project = new_project()
    for name, value in bigquery_env(bq_emulator, project).items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    return project


@pytest.fixture
def bq_client(bq_warehouse):
    from adw_assets.lib.warehouse.bigquery import make_client

    return make_client()
