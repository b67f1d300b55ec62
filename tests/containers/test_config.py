"""The container set-up, checked without a container runtime (runs in the main CI).

compose.yaml, .env.example, the Dockerfiles and docker/ must agree with each other and with the
rest of adw; docker/dagster.yaml is loaded by Dagster against a real PostgreSQL.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import urllib.parse
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
COMPOSE_TEXT = (ROOT / "compose.yaml").read_text()
COMPOSE = yaml.safe_load(COMPOSE_TEXT)
SERVICES = COMPOSE["services"]
ONE_SHOT = {"seed"}
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([^}]*))?\}")


def env_example() -> dict[str, str]:
    values = {}
    for line in (ROOT / ".env.example").read_text().splitlines():
        m = re.match(r"^([A-Z_][A-Z0-9_]*)=(.*)$", line)
        if m:
            values[m.group(1)] = m.group(2)
    return values


def test_long_running_services_have_health_checks_and_restart_policies():
    for name, service in SERVICES.items():
        if name in ONE_SHOT:
            assert service["restart"] == "no", name
            continue
        assert service.get("restart") in ("unless-stopped", "always"), name
        assert service["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name


def test_dagster_services_wait_for_the_seed_to_succeed():
    for name in ("webserver", "daemon"):
        depends = SERVICES[name]["depends_on"]
        assert depends["seed"]["condition"] == "service_completed_successfully"
        assert depends["postgres"]["condition"] == "service_healthy"


def test_only_the_webserver_and_kestra_are_published_and_on_loopback_by_default():
    published = {name: s["ports"] for name, s in SERVICES.items() if s.get("ports")}
    assert set(published) == {"webserver", "kestra"}
    for spec in published["webserver"] + published["kestra"]:
        address = spec.split(":")[0] + ":" + spec.split(":")[1]  # "${ADW_BIND_ADDRESS:-127.0.0.1}"
        m = VARIABLE.fullmatch(address)
        assert m and m.group(3) == "127.0.0.1", spec
        assert env_example()[m.group(1)] == "127.0.0.1"


def test_volumes_are_named_and_declared():
    declared = set(COMPOSE["volumes"])
    used = set()
    for name, service in SERVICES.items():
        for spec in service.get("volumes", []):
            assert ":" in spec, f"{name}: anonymous volume {spec}"
            source = spec.split(":")[0]
            if not source.startswith(("/", ".", "$")):
                used.add(source)
    assert used == declared


def test_every_compose_variable_is_in_env_example_with_the_same_default():
    documented = env_example()
    used = {m.group(1): m for m in VARIABLE.finditer(COMPOSE_TEXT)}
    assert set(used) == set(documented), "compose.yaml and .env.example name different variables"
    for name, m in used.items():
        if m.group(2) == ":-":  # an empty value in .env also falls back to the default
            assert documented[name] in ("", m.group(3)), name


def test_stack_dagster_instance_is_the_generated_one():
    """The whole committed file, as `python -m adw_assets.lib.dagster_home --docker` writes it."""
    from adw_assets.lib.dagster_home import DAGSTER_YAML, render_dagster_yaml

    committed = (ROOT / "docker" / "dagster.yaml").read_text()
    assert committed == render_dagster_yaml("postgres"), (
        "docker/dagster.yaml is stale: python -m adw_assets.lib.dagster_home --docker "
        "> docker/dagster.yaml"
    )
    stack, local = yaml.safe_load(committed), yaml.safe_load(DAGSTER_YAML)
    assert set(stack.pop("storage")) == {"postgres"}
    assert stack == local  # concurrency, run_monitoring, freshness, telemetry: the same
    runs, pools = {"max_concurrent_runs": 4}, {"default_limit": 1}  # no run-tag limits
    assert local["concurrency"] == {"runs": runs, "pools": pools}


def test_code_location_takes_every_adw_setting_from_env():
    """A setting set in .env reaches the run workers, unless the stack sets it itself."""
    from adw_assets.lib.settings_docs import SET_BY_STACK, env_value
    from adw_assets.settings import variables

    environment = SERVICES["code-location"]["environment"]
    for name, field in variables().items():
        if name in SET_BY_STACK or name == "ADW_DAGSTER_PORT":  # the published port
            continue
        assert environment.get(name) == f"${{{name}:-{env_value(field)}}}", name


def stack_dagster_home(tmp_path: Path, monkeypatch, socket_dir: str, user: str, db: str) -> Path:
    """A DAGSTER_HOME holding docker/dagster.yaml, its DAGSTER_PG_* variables set as the stack's
    services have them, for ``user`` on ``db`` through the Unix socket in ``socket_dir``."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(ROOT / "docker" / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("PGHOST", socket_dir)  # empty hostname: libpq takes the socket from PGHOST
    for name, value in {
        "DAGSTER_PG_HOST": "",
        "DAGSTER_PG_PORT": "5432",
        "DAGSTER_PG_USER": user,
        "DAGSTER_PG_PASSWORD": "",
        "DAGSTER_PG_DB": db,
    }.items():
        monkeypatch.setenv(name, value)
    return home


def test_stack_dagster_instance_loads_against_postgres(empty_db, tmp_path, monkeypatch):
    """docker/dagster.yaml as the services load it, on a real (fresh) PostgreSQL database."""
    from dagster import DagsterInstance
    from dagster_postgres import PostgresRunStorage

    dsn = urllib.parse.urlsplit(empty_db)
    socket_dir = dict(urllib.parse.parse_qsl(dsn.query))["host"]
    home = stack_dagster_home(
        tmp_path, monkeypatch, socket_dir, dsn.username or "postgres", dsn.path.lstrip("/")
    )
    with DagsterInstance.from_config(str(home)) as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        # the webserver's pooled connections (they broke under psycopg 3, see dagster.yaml)
        instance.optimize_for_webserver(statement_timeout=5000, pool_recycle=3600, max_overflow=2)
        assert instance.get_runs() == []
        assert instance.get_runs() == []  # a second checkout of the pooled connection
        concurrency = instance.get_concurrency_config()
        assert concurrency.run_queue_config.max_concurrent_runs == 4
        assert not concurrency.run_queue_config.tag_concurrency_limits
        assert concurrency.pool_config.default_pool_limit == 1  # the pool `warehouse` included
        assert instance.freshness_enabled


def test_webserver_workspace_names_the_code_location_service():
    stack = yaml.safe_load((ROOT / "docker" / "workspace.yaml").read_text())["load_from"]
    local = yaml.safe_load((ROOT / "workspace.yaml").read_text())["load_from"]
    (server,) = [entry["grpc_server"] for entry in stack]
    assert server["location_name"] == local[0]["python_module"]["location_name"] == "adw"
    assert server["host"] in SERVICES
    entrypoint = (ROOT / "docker" / "entrypoint.sh").read_text()
    assert f'GRPC_PORT="${{DAGSTER_GRPC_PORT:-{server["port"]}}}"' in entrypoint


def test_dockerignore_admits_what_the_dockerfile_copies_and_nothing_secret():
    lines = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "*", "the build context is a whitelist"
    admitted = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    dockerfile = (ROOT / "Dockerfile").read_text()
    copies = re.findall(r"^COPY (?!--from=)(?:--chown=\S+ )?(.+) \S+$", dockerfile, re.M)
    sources = {src.rstrip("/") for line in copies for src in line.split()}
    assert sources and sources <= admitted, sources - admitted
    assert not any(path.startswith((".env", ".venv", ".adw", ".git")) for path in admitted)


@pytest.mark.parametrize(
    ("shell", "script"),
    [
        ("sh", "docker/entrypoint.sh"),
        ("sh", "docker/postgres/entrypoint.sh"),
        ("sh", "docker/postgres/initdb/10-adw.sh"),
        ("sh", "docker/postgres/secrets.sh"),
        ("sh", "docker/make-secrets.sh"),
        ("bash", ".ci/containers.sh"),
        ("bash", ".ci/sync-env.sh"),
    ],
)
def test_scripts_parse(shell, script):
    done = subprocess.run([shell, "-n", str(ROOT / script)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
