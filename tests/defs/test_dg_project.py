"""adw is a `dg` project: `dg check defs` passes and `dg list defs` shows the same assets,
checks, jobs, schedules and sensors as the code location the other entry points load."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
DG = Path(sys.executable).parent / "dg"


def _dg(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(DG), *args], cwd=ROOT, env=dict(os.environ), capture_output=True, text=True,
        timeout=600,
    )  # fmt: skip


def test_dg_check_defs_passes():
    done = _dg("check", "defs")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "All definitions loaded successfully" in done.stdout + done.stderr
    assert "Warning" not in done.stderr


def test_dg_list_defs_shows_the_definitions_of_the_code_location():
    from adw_assets.definitions import build_definitions

    done = _dg("list", "defs", "--json")
    assert done.returncode == 0, done.stderr
    listed = json.loads(done.stdout)

    repo = build_definitions().get_repository_def()
    graph = repo.asset_graph
    expected = {
        "assets": {key.to_user_string() for key in graph.get_all_asset_keys()},
        "asset_checks": {
            f"{key.asset_key.to_user_string()}:{key.name}" for key in graph.asset_check_keys
        },
        "jobs": {job.name for job in repo.get_all_jobs() if not job.name.startswith("__")},
        "schedules": {schedule.name for schedule in repo.schedule_defs},
        "sensors": {sensor.name for sensor in repo.sensor_defs},
    }
    shown = {
        "assets": {asset["asset_key"] for asset in listed["assets"]},
        "asset_checks": {check["key"] for check in listed["asset_checks"]},
        "jobs": {job["name"] for job in listed["jobs"]},
        "schedules": {schedule["name"] for schedule in listed["schedules"]},
        "sensors": {sensor["name"] for sensor in listed["sensors"]},
    }
    assert shown == expected
    assert all(expected.values())
    assert {"elt_job", "web_events_job"} <= shown["jobs"]


def test_dg_dev_serves_the_code_location(tmp_path):
    """`dg dev` (webserver + daemon, as the Dagster docs start) serves every asset of the
    definitions, beside `adw dev` and `dagster dev -w workspace.yaml`."""
    import signal
    import socket
    import time
    import urllib.request

    from adw_assets.definitions import build_definitions
    from adw_assets.lib.dagster_home import DAGSTER_YAML

    home = tmp_path / "dg-home"
    (home / "dagster").mkdir(parents=True)
    (home / "dagster" / "dagster.yaml").write_text(DAGSTER_YAML)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADW_")}
    env.update(ADW_HOME=str(home), DAGSTER_HOME=str(home / "dagster"))
    log = open(tmp_path / "dg-dev.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [str(DG), "dev", "--port", str(port)], cwd=ROOT, env=env,
        stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    query = json.dumps({"query": "{ assetNodes { assetKey { path } } }"}).encode()
    served: set[str] = set()
    try:
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            request = urllib.request.Request(
                f"http://127.0.0.1:{port}/graphql", data=query,
                headers={"Content-Type": "application/json"},
            )  # fmt: skip
            try:
                with urllib.request.urlopen(request, timeout=10) as resp:
                    nodes = json.loads(resp.read())["data"]["assetNodes"]
                served = {"/".join(n["assetKey"]["path"]) for n in nodes}
                if served:
                    break
            except (OSError, KeyError, TypeError, ValueError):
                pass
            time.sleep(1)
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()
    expected = {
        k.to_user_string() for k in build_definitions().resolve_asset_graph().get_all_asset_keys()
    }
    assert served == expected, (tmp_path / "dg-dev.log").read_text()[-3000:]
