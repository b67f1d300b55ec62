"""adw_assets.lib.dbt: the environment dbt runs with, manifest preparation, errors."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from adw_assets.lib import dbt as lib
from tests.dbt.dbt_chain import settings_for


def test_dbt_env_comes_from_the_settings(tmp_path):
    env = lib.dbt_env(settings_for(tmp_path, ADW_RAW_PREFIX="src_", ADW_DBT_LOOKBACK_MINUTES="5"))
    assert env["ADW_DUCKDB_PATH"] == str(tmp_path.resolve() / "warehouse.duckdb")
    assert env["ADW_RAW_PREFIX"] == "src_"
    assert env["ADW_DBT_TARGET"] == "local"
    assert env["ADW_DBT_LOOKBACK_MINUTES"] == "5"
    assert env["DO_NOT_TRACK"] == "1"
    assert env["PATH"].split(os.pathsep)[0] == str(Path(sys.executable).parent)
    # without ADW_CARD_HASH_SALT on the embedded local default: the development salt; off it,
    # none (dbt refuses to run, tests/dbt/test_card_hash_salt.py)
    assert env["ADW_CARD_HASH_SALT"] == lib.DEV_CARD_HASH_SALT
    external = settings_for(tmp_path, ADW_SOURCE_DSN="postgresql://u@h/db")
    assert lib.dbt_env(external)["ADW_CARD_HASH_SALT"] == ""
    salted = lib.dbt_env(settings_for(tmp_path, ADW_CARD_HASH_SALT="s3cret"))
    assert salted["ADW_CARD_HASH_SALT"] == "s3cret"
    bigquery = lib.dbt_env(settings_for(tmp_path, ADW_WAREHOUSE="bigquery"))
    assert bigquery["ADW_DBT_TARGET"] == "prod"
    assert "ADW_BQ_PROJECT" not in bigquery and bigquery["ADW_BQ_LOCATION"] == "US"
    emulator = lib.dbt_env(
        settings_for(tmp_path, ADW_BQ_ENDPOINT="http://127.0.0.1:9050/", ADW_BQ_PROJECT="p",
                     ADW_EVENTS_LOOKBACK_HOURS="48")
    )  # fmt: skip
    assert emulator["ADW_BQ_ENDPOINT"] == "http://127.0.0.1:9050"  # as validated by the settings
    assert emulator["ADW_BQ_PROJECT"] == "p" and emulator["ADW_EVENTS_LOOKBACK_HOURS"] == "48.0"


def test_dbt_environ_sets_and_restores(tmp_path, monkeypatch):
    monkeypatch.setenv("ADW_RAW_PREFIX", "keep_")
    settings = settings_for(tmp_path)
    with lib.dbt_environ(settings):
        assert os.environ["ADW_DUCKDB_PATH"] == str(settings.duckdb_path)
        assert os.environ["ADW_RAW_PREFIX"] == "raw_"
    assert "ADW_DUCKDB_PATH" not in os.environ
    assert os.environ["ADW_RAW_PREFIX"] == "keep_"


def test_fingerprint_follows_what_the_manifest_depends_on(tmp_path):
    base = lib.fingerprint(settings_for(tmp_path))
    assert lib.fingerprint(settings_for(tmp_path / "elsewhere")) == base
    assert lib.fingerprint(settings_for(tmp_path, ADW_RAW_PREFIX="src_")) != base
    assert lib.fingerprint(settings_for(tmp_path, ADW_DBT_TARGET="prod")) != base


def test_ensure_manifest_parses_once_then_reuses(tmp_path):
    settings = settings_for(tmp_path)
    path = lib.ensure_manifest(settings)
    assert path == lib.project_dir() / "target" / settings.dbt_target / "manifest.json"
    stamp = path.stat().st_mtime_ns
    assert lib.ensure_manifest(settings) == path
    assert path.stat().st_mtime_ns == stamp  # fresh: no second dbt parse


def test_run_dbt_failure_raises_with_dbt_message(tmp_path):
    with pytest.raises(lib.DbtError, match=r"(?s)failed \(exit 2\).*No such option"):
        lib.run_dbt(
            ["build", "--no-such-flag"],
            settings=settings_for(tmp_path),
            target_path=tmp_path / "target",
        )


def test_run_targets_carry_the_partial_parse_and_are_pruned(tmp_path):
    settings = settings_for(tmp_path)
    first = lib.run_target(settings, "run-1")
    assert first == tmp_path.resolve() / "dbt" / "runs" / "run-1"
    assert not (first / lib.PARTIAL_PARSE).exists()  # nothing cached yet
    (first / lib.PARTIAL_PARSE).write_bytes(b"parsed-1")
    lib.finish_run_target(settings, first)
    second = lib.run_target(settings, "run-2")
    assert (second / lib.PARTIAL_PARSE).read_bytes() == b"parsed-1"
    for n in range(3, 8):
        os.utime(lib.run_target(settings, f"run-{n}"), (n, n))  # older than run-1, run-2
    lib.finish_run_target(settings, second, keep=4)
    kept = {p.name for p in (tmp_path / "dbt" / "runs").iterdir()}
    assert kept == {"run-1", "run-2", "run-7", "run-6"}
