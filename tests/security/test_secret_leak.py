"""No password, salt or token leaks: the commands a user types, then every byte they left.

Each DSN form libpq accepts carries a unique password (URL ``user:password@``, URL
``?password=``, key=value, quoted key=value), with a unique card-hash salt and Dagster token.
``adw source status``, ``adw source seed``, ``adw replicate`` (failing: a closed port, or a
role the server does not know), ``adw launch`` (nothing listening) and ``adw build`` run as
subprocesses; then stdout, stderr and every file under ``ADW_HOME`` (Dagster's SQLite run
storage included) and the dbt target directories are searched, as bytes, for each secret: zero
hits. One source database, seeded once at scale 0.01, serves every case.

The test server trusts local connections (pgserver), so a wrong password alone cannot fail;
an unknown role with a password fails at authentication instead.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import urllib.parse
import uuid
from collections.abc import Callable
from pathlib import Path

import duckdb
import psycopg
import pytest

from adw_assets.lib.dbt import project_dir
from adw_assets.settings import REPLICATION_ROLE
from tests.dbt.dbt_chain import module_database
from tests.support.processes import free_port

ADW = Path(sys.executable).parent / "adw"

Form = Callable[[dict[str, str], str, str], str]
FORMS: dict[str, Form] = {
    "url_userinfo": lambda a, user, pw: (
        f"postgresql://{user}:{urllib.parse.quote(pw, safe='')}@{a['netloc']}/{a['dbname']}"
        f"?{a['query']}"
    ),
    "url_query": lambda a, user, pw: (
        f"postgresql://{user}@{a['netloc']}/{a['dbname']}?{a['query']}"
        f"&password={urllib.parse.quote(pw, safe='')}"
    ),
    "key_value": lambda a, user, pw: f"{a['key_value']} user={user} password={pw}",
    "quoted_key_value": lambda a, user, pw: f"{a['quoted']} user='{user}' password='{pw}'",
}


def address(host: str, port: str | None, dbname: str) -> dict[str, str]:
    """The parts the DSN forms are written from: a Unix socket directory or a TCP host."""
    socket_dir = host.startswith("/")
    parts = {"host": host, "dbname": dbname} | ({"port": port} if port else {})
    query = {k: v for k, v in parts.items() if k != "dbname"} if socket_dir else {}
    return {
        "dbname": dbname,
        "netloc": "" if socket_dir else f"{host}:{port}",
        "query": urllib.parse.urlencode(query | {"sslmode": "disable"}),
        "key_value": " ".join(f"{k}={v}" for k, v in parts.items()),
        "quoted": " ".join(f"{k}='{v}'" for k, v in parts.items()),
    }


def live_address(dsn: str) -> dict[str, str]:
    from psycopg.conninfo import conninfo_to_dict

    params = conninfo_to_dict(dsn)
    return address(params["host"], params.get("port"), params["dbname"])


def secret(kind: str, spaced: bool = False) -> tuple[str, str]:
    """A unique secret and the marker searched for: its hex core, which every encoding
    (percent-encoded, quoted, escaped) keeps as is."""
    core = uuid.uuid4().hex[:20]
    return (f"{kind} {core}" if spaced else f"{kind}-{core}"), core


def run_adw(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(ADW), *args], env=env, capture_output=True, timeout=600, check=False)


def leaks(markers: dict[str, str], outputs: list[bytes], roots: list[Path]) -> list[str]:
    """Where each marker occurs: in an output, or in a file under one of ``roots``."""
    found = []
    for what, marker in markers.items():
        needle = marker.encode()
        found += [f"{what} in output #{n}" for n, out in enumerate(outputs) if needle in out]
        for root in roots:
            for path in (p for p in root.rglob("*") if p.is_file()):
                if needle in path.read_bytes():
                    found.append(f"{what} in {path}")
    return found


def dbt_targets(home: Path) -> list[Path]:
    """The dbt target directories: the project's (the manifest adw prepares) and the runs'."""
    return [project_dir() / "target", home / "dbt"]


@pytest.fixture(scope="module")
def shared_source(pg_cluster, tmp_path_factory):
    """One source database seeded by ``adw source seed --scale 0.01`` with a password in its
    DSN (quoted key=value); yields its DSN (no password), the seed's outputs and markers."""
    with module_database(pg_cluster) as dsn:
        home = tmp_path_factory.mktemp("seed-home")
        password, marker = secret("seed pw", spaced=True)
        env = base_env(home)
        env["ADW_SOURCE_DSN"] = FORMS["quoted_key_value"](live_address(dsn), "postgres", password)
        seeded = run_adw(env, "source", "seed", "--scale", "0.01", "--seed", "5")
        assert seeded.returncode == 0, seeded.stderr.decode()[-2000:]
        yield dsn, [seeded.stdout, seeded.stderr], {"seed password": marker}, home


def base_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ADW_", "PG"))}
    env.update(
        ADW_HOME=str(home),
        DAGSTER_HOME=str(home / "dagster"),
        DO_NOT_TRACK="1",
        DBT_SEND_ANONYMOUS_USAGE_STATS="false",
        DAGSTER_DISABLE_TELEMETRY="1",
        ADW_REPLICATION_RETRIES="0",
        PATH=f"{ADW.parent}{os.pathsep}{os.environ.get('PATH', '')}",
    )
    return env


def test_seed_leaks_no_password(shared_source):
    _dsn, outputs, markers, home = shared_source
    assert not leaks(markers, outputs, [home])


@pytest.mark.parametrize("form", list(FORMS))
def test_no_password_salt_or_token_leaks_from_failing_commands(form, shared_source, tmp_path):
    dsn, _outputs, _markers, _home = shared_source
    home = tmp_path / "home"
    owner_pw, owner_marker = secret("owner", spaced=form == "quoted_key_value")
    repl_pw, repl_marker = secret("repl", spaced=form == "quoted_key_value")
    salt, salt_marker = secret("salt")
    token, token_marker = secret("token")
    make = FORMS[form]
    live = live_address(dsn)
    closed = address("127.0.0.1", str(free_port()), live["dbname"])
    env = base_env(home) | {
        "ADW_SOURCE_DSN": make(live, "postgres", owner_pw),
        "ADW_REPLICATION_DSN": make(closed, REPLICATION_ROLE, repl_pw),
        "ADW_CARD_HASH_SALT": salt,
        "ADW_DAGSTER_TOKEN": token,
        "ADW_DAGSTER_URL": f"http://127.0.0.1:{free_port()}/graphql",
    }
    markers = {"owner password": owner_marker, "replication password": repl_marker,
               "salt": salt_marker, "token": token_marker}  # fmt: skip

    status = run_adw(env, "source", "status")
    assert status.returncode == 0 and b"sales.salesorderheader" in status.stdout, status.stderr
    assert b"***" in status.stdout  # the DSN is shown, its password masked
    seed = run_adw(env, "source", "seed", "--scale", "0.01")
    assert seed.returncode == 1 and b"--replace" in seed.stderr  # already seeded: refused
    # a failing replication (Dagster retries the step twice: ~40 s each), one way per form:
    # a closed port, or a role the live server does not know
    if form in ("url_userinfo", "key_value"):
        failing = env
    else:
        failing = dict(env, ADW_REPLICATION_DSN=make(live, "no_such_role", repl_pw))
    replicate = run_adw(failing, "replicate", "store")
    assert replicate.returncode == 1, replicate.stderr.decode()[-2000:]
    assert b"FAILED" in replicate.stdout
    launch = run_adw(env, "launch", "elt_job", "--wait")
    assert launch.returncode != 0

    outputs = [r.stdout + r.stderr for r in (status, seed, replicate, launch)]
    assert not leaks(markers, outputs, [home, *dbt_targets(home)])


@pytest.mark.slow  # a whole pipeline: replicate and dbt build
def test_build_leaks_neither_salt_nor_password_and_hashes_with_the_salt(shared_source, tmp_path):
    dsn, _outputs, _markers, _home = shared_source
    home = tmp_path / "home"
    owner_pw, owner_marker = secret("owner")
    repl_pw, repl_marker = secret("repl")
    salt, salt_marker = secret("salt")
    live = live_address(dsn)
    env = base_env(home) | {
        "ADW_SOURCE_DSN": FORMS["key_value"](live, "postgres", owner_pw),
        "ADW_REPLICATION_DSN": FORMS["url_query"](live, REPLICATION_ROLE, repl_pw),
        "ADW_CARD_HASH_SALT": salt,
    }
    replicated = run_adw(env, "replicate")
    assert replicated.returncode == 0, replicated.stderr.decode()[-3000:]
    built = run_adw(env, "build", "--no-answers")
    assert built.returncode == 0, (built.stdout + built.stderr).decode()[-3000:]

    markers = {"owner password": owner_marker, "replication password": repl_marker,
               "salt": salt_marker}  # fmt: skip
    outputs = [r.stdout + r.stderr for r in (replicated, built)]
    assert not leaks(markers, outputs, [home, *dbt_targets(home)])
    # and the salt did reach the hash: hex SHA-256 of (salt || card number)
    with psycopg.connect(dsn) as conn:
        cards = dict(conn.execute("select creditcardid, cardnumber from sales.creditcard"))
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        hashes = con.execute(
            "select credit_card_id, card_number_hash from marts.dim_credit_cards"
        ).fetchall()
    assert len(hashes) == len(cards) > 0
    for card_id, digest in hashes:
        assert digest == hashlib.sha256((salt + cards[card_id]).encode()).hexdigest()
