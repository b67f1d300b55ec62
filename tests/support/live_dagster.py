"""A live Dagster (`dagster dev`: webserver + daemon) over a private ADW_HOME and a seeded
source database, for the tests that talk to Dagster as Kestra or the UI do."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import yaml

from tests.support.processes import free_port, wait_until_serving

REPO_ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def adw_env(home: Path, dsn: str) -> dict[str, str]:
    """The environment of an adw process over ``home`` and the source database ``dsn``: no
    ADW_* variable of the caller's shell, the replication role's DSN, adw's venv first."""
    from adw_assets.lib.source.server import dsn_with_user
    from adw_assets.settings import REPLICATION_ROLE

    env = {k: v for k, v in os.environ.items() if not k.startswith("ADW_")}
    env.update(
        ADW_HOME=str(home),
        ADW_SOURCE_DSN=dsn,
        ADW_REPLICATION_DSN=dsn_with_user(dsn, REPLICATION_ROLE),
        ADW_CARD_HASH_SALT="test-salt-of-an-external-source",  # an external source needs one
        DAGSTER_HOME=str(home / "dagster"),
        DO_NOT_TRACK="1",
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    return env


def _graphql(url: str, query: str, variables: dict | None = None) -> dict:
    body = json.dumps({"query": query, "variables": variables or {}}).encode()
    req = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read())


LOCATIONS = (
    "{ repositoriesOrError { __typename ... on RepositoryConnection "
    "{ nodes { name location { name } } } } }"
)


def serves_locations(url: str, locations: set[str]) -> bool:
    """Whether the Dagster webserver at ``url`` (its /graphql) has loaded exactly ``locations``."""
    data = _graphql(url, LOCATIONS)["data"]["repositoriesOrError"]
    return {n["location"]["name"] for n in data.get("nodes", [])} == locations


@contextlib.contextmanager
def live_dagster(
    pg_cluster: str, home: Path, locations: dict[str, str], max_concurrent_runs: int | None = None
) -> Iterator[dict]:
    """`dagster dev` serving ``locations`` over ``home`` (ADW_HOME) and a fresh seeded source
    database; yields its url, home, source DSN and environment."""
    from adw_assets.cli.dev import dagster_dev_command
    from adw_assets.lib.dagster_home import DAGSTER_YAML
    from adw_assets.lib.source.seed import seed_database
    from adw_assets.lib.source.server import ensure_schema, with_database

    (home / "dagster").mkdir(parents=True)
    instance = yaml.safe_load(DAGSTER_YAML)
    if max_concurrent_runs is not None:
        instance.setdefault("concurrency", {}).setdefault("runs", {})["max_concurrent_runs"] = (
            max_concurrent_runs
        )
    (home / "dagster" / "dagster.yaml").write_text(yaml.safe_dump(instance))
    workspace = home / "workspace.yaml"
    entries = [
        {
            "python_module": {
                "module_name": module,
                "location_name": name,
                "working_directory": str(REPO_ROOT),
            }
        }
        for name, module in locations.items()
    ]
    workspace.write_text(yaml.safe_dump({"load_from": entries}))
    name = f"live_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_cluster, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    dsn = with_database(pg_cluster, name)
    ensure_schema(dsn)
    seed_database(dsn, scale=0.01, seed=3)

    port = free_port()
    env = adw_env(home, dsn)
    log = open(home / "dagster-dev.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        dagster_dev_command(workspace, port),
        cwd=REPO_ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    url = f"http://127.0.0.1:{port}/graphql"
    try:
        wait_until_serving(
            proc, home / "dagster-dev.log", lambda: serves_locations(url, set(locations)),
            f"dagster dev serving {sorted(locations)}", timeout=180,
        )  # fmt: skip
    except BaseException:
        _stop(proc, log, pg_cluster, name)
        raise
    try:
        yield {"url": url, "home": home, "dsn": dsn, "env": env}
    finally:
        _stop(proc, log, pg_cluster, name)


def _stop(proc: subprocess.Popen, log, pg_cluster: str, name: str) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    log.close()
    with psycopg.connect(pg_cluster, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')
