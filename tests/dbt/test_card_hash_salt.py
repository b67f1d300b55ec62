"""The card-hash salt: the development salt on the embedded local default only; elsewhere adw
and dbt itself refuse to run without ``ADW_CARD_HASH_SALT``, in one line. (That no file holds
the salt and that the hash uses it: tests/security/test_secret_leak.py, and on BigQuery
tests/bigquery/test_dbt_marts.py.)"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from adw_assets.errors import ConfigError
from adw_assets.lib import dbt as lib
from tests.dbt.dbt_chain import settings_for

ADW = Path(sys.executable).parent / "adw"
EXTERNAL = "postgresql://u@db.example/adventureworks"


def test_the_development_salt_serves_the_embedded_local_default_only(tmp_path):
    assert lib.card_hash_salt(settings_for(tmp_path)) == lib.DEV_CARD_HASH_SALT
    assert lib.card_hash_salt(settings_for(tmp_path, ADW_CARD_HASH_SALT="s3cret")) == "s3cret"
    refused = {
        "an external source (ADW_SOURCE_DSN: the compose stack sets it)": {
            "ADW_SOURCE_DSN": EXTERNAL
        },
        "BigQuery": {"ADW_WAREHOUSE": "bigquery"},
        "the emulator target": {"ADW_WAREHOUSE": "bigquery", "ADW_DBT_TARGET": "emulator"},
        "another dbt target": {"ADW_DBT_TARGET": "prod"},
        "the public salt set by hand": {
            "ADW_SOURCE_DSN": EXTERNAL,
            "ADW_CARD_HASH_SALT": lib.DEV_CARD_HASH_SALT,
        },
    }
    for why, env in refused.items():
        with pytest.raises(ConfigError, match=r"^ADW_CARD_HASH_SALT .*openssl rand") as caught:
            lib.card_hash_salt(settings_for(tmp_path, **env))
        assert "\n" not in str(caught.value), why
        salted = settings_for(tmp_path, **(env | {"ADW_CARD_HASH_SALT": "a-real-salt"}))
        assert lib.card_hash_salt(salted) == "a-real-salt", why


def test_adw_build_without_a_salt_off_the_local_default_stops_in_one_line(tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADW_")}
    env.update(ADW_HOME=str(tmp_path / "home"), ADW_SOURCE_DSN=EXTERNAL)
    for command in (["build"], ["up", "--events", "0"]):
        done = subprocess.run(
            [str(ADW), *command], env=env, capture_output=True, text=True, timeout=300
        )
        assert done.returncode == 1, done.stderr
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
        assert lines[0].startswith("error: ADW_CARD_HASH_SALT is not set: with an external source")


def test_dbt_run_directly_refuses_to_run_without_a_salt(tmp_path):
    """A user who runs dbt by hand (docs/dbt.md) with an external source and no salt: dbt
    stops at its first connection, with adw's message."""
    settings = settings_for(tmp_path, ADW_SOURCE_DSN=EXTERNAL)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADW_")}
    env |= lib.dbt_env(settings) | {"ADW_SOURCE_DSN": EXTERNAL}
    root = lib.project_dir()
    done = subprocess.run(
        [lib.dbt_executable(settings), "show", "--inline", "select 1 as one",
         "--project-dir", str(root), "--profiles-dir", str(root),
         "--target-path", str(tmp_path / "target")],
        cwd=root, env=env | {"DBT_LOG_PATH": str(tmp_path / "logs")},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode != 0
    assert "ADW_CARD_HASH_SALT is not set: with an external source" in done.stdout + done.stderr
    # and with a salt, the same command runs
    env["ADW_CARD_HASH_SALT"] = "a-real-salt"
    ok = subprocess.run(
        [lib.dbt_executable(settings), "show", "--inline", "select getvariable("
         "'adw_card_hash_salt') = 'a-real-salt' as bound", "--project-dir", str(root),
         "--profiles-dir", str(root), "--target-path", str(tmp_path / "target")],
        cwd=root, env=env | {"DBT_LOG_PATH": str(tmp_path / "logs")},
        capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "True" in ok.stdout
