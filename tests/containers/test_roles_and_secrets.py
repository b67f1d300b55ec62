"""Least privilege and secrets of the compose stack, checked without a container runtime.

Each service reaches PostgreSQL as a role of its own, never the superuser; passwords and the
card-hash salt are compose secrets (files), never environment values or DSN parts; a
placeholder secret stops a container with one line; and the roles the stack's Postgres
creates (docker/postgres/initdb/10-adw.sh, run here on a real PostgreSQL) can do what their
service needs and nothing more.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import tempfile
from pathlib import Path

import psycopg
import pytest
from psycopg.conninfo import conninfo_to_dict

from tests.containers.test_config import COMPOSE, ROOT, SERVICES, stack_dagster_home

SECRETS_SH = ROOT / "docker" / "postgres" / "secrets.sh"
INITDB = ROOT / "docker" / "postgres" / "initdb" / "10-adw.sh"
ROLES = {"seed": "adw_source", "code-location": "adw_replicator"}
SECRET_VARIABLES = ("PASSWORD", "SALT")


def _environment(service: str) -> dict[str, str]:
    return {k: str(v) for k, v in SERVICES[service].get("environment", {}).items()}


def test_services_connect_as_their_own_roles_without_passwords_in_dsns():
    for service, role in ROLES.items():
        env = _environment(service)
        # a DSN the stack sets (an optional one passed through from .env is empty by default)
        dsns = [v for k, v in env.items() if k.endswith("_DSN") and not v.startswith("${")]
        assert dsns, service
        for dsn in dsns:
            parts = conninfo_to_dict(dsn.replace("${ADW_SOURCE_DB:-adventureworks}", "db"))
            assert parts["user"] == role, (service, dsn)
            assert "password" not in parts, (service, dsn)
    for service in ("code-location", "webserver", "daemon"):
        assert _environment(service)["DAGSTER_PG_USER"] == "adw_dagster", service
    superuser = "${POSTGRES_USER"
    for service in SERVICES:
        if service != "postgres":
            assert superuser not in str(SERVICES[service]), f"{service} knows the superuser"


def test_secrets_are_files_named_by_file_variables_never_values():
    declared = COMPOSE["secrets"]
    for name, spec in declared.items():
        assert spec == {"file": f"${{ADW_SECRETS_DIR:-./secrets}}/{name}"}, name
    used = set()
    for service, spec in SERVICES.items():
        env = _environment(service)
        mounted = set(spec.get("secrets", []))
        used |= mounted
        for key, value in env.items():
            if key.endswith("_FILE") and value.startswith("/run/secrets/"):
                assert value.removeprefix("/run/secrets/") in mounted, (service, key)
            elif any(word in key for word in SECRET_VARIABLES) and service != "kestra":
                # Airbyte's (set in .env for ADW_REPLICATION=airbyte) are adw settings
                assert key.startswith("ADW_AIRBYTE_"), f"{service}: {key} holds a secret"
    assert used == set(declared)
    code = _environment("code-location")
    assert code["ADW_CARD_HASH_SALT_FILE"] == "/run/secrets/card_hash_salt"
    assert "ADW_CARD_HASH_SALT" not in code


def test_make_secrets_writes_random_private_files_once(tmp_path):
    folder = tmp_path / "secrets"
    done = subprocess.run(
        ["sh", str(ROOT / "docker" / "make-secrets.sh"), str(folder)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    files = {p.name: p.read_text() for p in folder.iterdir()}
    assert set(files) == set(COMPOSE["secrets"])
    assert len(set(files.values())) == len(files)  # random, one each
    assert all(len(v.strip()) == 32 for v in files.values())
    again = subprocess.run(
        ["sh", str(ROOT / "docker" / "make-secrets.sh"), str(folder)],
        capture_output=True,
        text=True,
    )
    assert again.returncode == 0 and "wrote" not in again.stdout
    assert {p.name: p.read_text() for p in folder.iterdir()} == files  # kept


def _load_secret(tmp_path: Path, value: str | None, **env: str) -> subprocess.CompletedProcess:
    """``load_secret X`` of secrets.sh with X_FILE holding ``value`` (None: no file)."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("X")} | env
    if value is not None:
        (tmp_path / "x").write_text(value)
        environ["X_FILE"] = str(tmp_path / "x")
    script = f'set -eu; . "{SECRETS_SH}"; load_secret X; echo "X=$X X_FILE=${{X_FILE:-}}"'
    return subprocess.run(["sh", "-c", script], env=environ, capture_output=True, text=True)


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("change-me\n", "is a placeholder"),
        ("CHANGE-ME-TOO", "is a placeholder"),
        ("changeme-please-123", "is a placeholder"),
        ("s3cret\n", "shorter than 12 characters"),
        ("", "is empty"),
        (None, "is not set"),
    ],
)
def test_a_placeholder_secret_stops_the_container_with_one_line(tmp_path, value, why):
    done = _load_secret(tmp_path, value)
    assert done.returncode == 1
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and why in lines[0] and "secret X" in lines[0], done.stderr
    assert "make-secrets.sh" in lines[0]
    if value:
        assert value.strip() not in done.stderr


def test_a_secret_file_is_read_into_its_variable(tmp_path):
    done = _load_secret(tmp_path, "9f1c0e6a4b2d8e7f\n")
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "X=9f1c0e6a4b2d8e7f X_FILE="


def test_the_replicator_connection_limit_uses_adws_margin():
    from adw_assets.lib.source.server import REPLICATION_CONNECTION_MARGIN

    limit = "${ADW_REPLICATION_WORKERS:-2} * ${ADW_REPLICATION_RANGE_READERS:-2}"
    assert f"{limit} + {REPLICATION_CONNECTION_MARGIN} ))" in INITDB.read_text()
    postgres = _environment("postgres")
    code = _environment("code-location")
    for name in ("ADW_REPLICATION_WORKERS", "ADW_REPLICATION_RANGE_READERS"):
        assert postgres[name] == code[name]


# --------------------------------------------------------------- the roles on a real server
@pytest.fixture(scope="module")
def stack_postgres():
    """A fresh PostgreSQL (roles are per server) set up as the stack's first start does it:
    the source database, then 10-adw.sh as the superuser. Yields (superuser DSN, socket)."""
    import pgserver

    pgdata = Path(tempfile.mkdtemp(prefix="adw-stack-roles-"))
    server = pgserver.get_server(pgdata, cleanup_mode="stop")
    try:
        admin = server.get_uri("postgres")
        socket = conninfo_to_dict(admin)["host"]
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute("create database adventureworks")
        secrets = pgdata.parent / f"{pgdata.name}-secrets"
        secrets.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ADW_", "PG"))}
        for name in ("SOURCE", "REPLICATOR", "DAGSTER"):
            (secrets / name).write_text(f"{name.lower()}-0123456789abcdef\n")
            env[f"{name}_PASSWORD_FILE"] = str(secrets / name)
        bindir = Path(pgserver.__file__).parent / "pginstall" / "bin"
        env |= {
            "POSTGRES_USER": "postgres",
            "POSTGRES_DB": "adventureworks",
            "ADW_DAGSTER_DB": "dagster",
            "PGHOST": socket,
            "PATH": f"{bindir}{os.pathsep}{env['PATH']}",
        }
        done = subprocess.run(
            ["sh", "-c", f'set -eu; . "{SECRETS_SH}"; . "{INITDB}"'],
            env=env,
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "0123456789abcdef" not in done.stdout + done.stderr
        yield admin, socket
    finally:
        server.cleanup()
        shutil.rmtree(pgdata, ignore_errors=True)
        shutil.rmtree(pgdata.parent / f"{pgdata.name}-secrets", ignore_errors=True)


def _dsn(socket: str, user: str, db: str) -> str:
    return psycopg.conninfo.make_conninfo(host=socket, user=user, dbname=db)


def test_stack_roles_are_not_superusers(stack_postgres):
    admin, _ = stack_postgres
    with psycopg.connect(admin) as conn:
        rows = conn.execute(
            "select rolname, rolsuper, rolcreaterole, rolcreatedb, rolconnlimit "
            "from pg_roles where rolname like 'adw\\_%'"
        ).fetchall()
    roles = {name: tuple(rest) for name, *rest in rows}
    assert roles == {
        "adw_source": (False, False, False, -1),
        "adw_replicator": (False, False, False, 7),  # 2 workers x 2 range readers + 3
        "adw_dagster": (False, False, False, -1),
    }


def test_the_seed_sets_up_the_source_as_its_owner_and_the_replicator_only_reads(stack_postgres):
    """What the seed service does (ensure_schema as adw_source, no superuser), then what the
    code location can do as adw_replicator."""
    from adw_assets.lib.source.server import ensure_schema

    _, socket = stack_postgres
    owner = _dsn(socket, "adw_source", "adventureworks")
    assert ensure_schema(owner) is True
    with psycopg.connect(owner, autocommit=True) as conn:
        conn.execute("insert into person.countryregion values ('XX', 'Nowhere', now())")
    with psycopg.connect(_dsn(socket, "adw_replicator", "adventureworks"), autocommit=True) as c:
        assert c.execute("select count(*) from person.countryregion").fetchone()[0] == 1
        assert c.execute("show default_transaction_read_only").fetchone()[0] == "on"
        c.execute("set default_transaction_read_only = off")
        for statement in (
            "delete from person.countryregion",
            "create temp table t (x int)",
            "create table public.t (x int)",
            "create table sales.t (x int)",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                c.execute(statement)


@pytest.mark.parametrize(
    ("user", "db"),
    [
        ("adw_replicator", "dagster"),
        ("adw_source", "dagster"),
        ("adw_dagster", "adventureworks"),
        ("adw_replicator", "postgres"),
        ("adw_dagster", "postgres"),
    ],
)
def test_each_role_connects_to_its_own_database_only(stack_postgres, user, db):
    _, socket = stack_postgres
    with pytest.raises(psycopg.OperationalError, match="permission denied for database"):
        psycopg.connect(_dsn(socket, user, db))


def test_dagster_storage_works_as_adw_dagster(stack_postgres, tmp_path, monkeypatch):
    """docker/dagster.yaml as the Dagster services load it, as the storage role."""
    from dagster import DagsterInstance

    _, socket = stack_postgres
    home = stack_dagster_home(tmp_path, monkeypatch, socket, "adw_dagster", "dagster")
    with DagsterInstance.from_config(str(home)) as instance:  # creates the schema
        assert instance.get_runs() == []
