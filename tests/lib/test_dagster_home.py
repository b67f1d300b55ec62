"""DAGSTER_HOME's dagster.yaml: written, upgraded while adw owns it, left alone once edited."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import yaml

from adw_assets.lib import dagster_home as dh
from adw_assets.settings import get_settings

ROOT = Path(__file__).resolve().parents[2]
OLD = dh._LEGACY[0]  # what adw wrote before: a run-tag limit on adw/warehouse


def _config() -> Path:
    return get_settings().dagster_home / "dagster.yaml"


def test_a_new_home_gets_adws_instance_and_dagster_loads_it(capsys):
    from dagster import DagsterInstance

    _config().unlink(missing_ok=True)
    home = dh.ensure_dagster_home(get_settings())

    assert _config().read_text() == dh.DAGSTER_YAML
    assert os.environ["DAGSTER_HOME"] == str(home)
    with DagsterInstance.from_config(str(home)) as instance:
        concurrency = instance.get_concurrency_config()
        assert concurrency.pool_config.default_pool_limit == 1
        assert concurrency.run_queue_config.max_concurrent_runs == 4
        assert not concurrency.run_queue_config.tag_concurrency_limits
    assert capsys.readouterr().err == ""


def test_the_file_an_older_adw_wrote_is_upgraded(capsys):
    _config().write_text(OLD)
    dh.ensure_dagster_home(get_settings())
    assert _config().read_text() == dh.DAGSTER_YAML
    assert "tag_concurrency_limits" not in _config().read_text()

    older = dh.stamped("concurrency:\n  runs:\n    max_concurrent_runs: 2\n")  # stamped, unedited
    _config().write_text(older)
    dh.ensure_dagster_home(get_settings())
    assert _config().read_text() == dh.DAGSTER_YAML
    assert capsys.readouterr().err == ""


def test_an_edited_file_is_left_alone_and_said_once(capsys):
    edited = OLD.replace("max_concurrent_runs: 4", "max_concurrent_runs: 8")
    _config().write_text(edited)

    dh.ensure_dagster_home(get_settings())
    assert _config().read_text() == edited
    (line,) = capsys.readouterr().err.splitlines()
    assert str(_config()) in line and "leaves it as it is" in line
    assert "differs from adw's in concurrency" in line
    assert "python -m adw_assets.lib.dagster_home" in line

    dh.ensure_dagster_home(get_settings())  # said once, not at every command
    assert _config().read_text() == edited and capsys.readouterr().err == ""


def test_a_file_edited_in_its_comments_only_is_left_alone_silently(capsys):
    edited = dh.DAGSTER_YAML + "# my note\n"
    _config().write_text(edited)
    dh.ensure_dagster_home(get_settings())
    assert _config().read_text() == edited
    assert capsys.readouterr().err == ""


def test_the_module_prints_both_instances():
    def run(*args: str) -> str:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        done = subprocess.run(
            [sys.executable, "-m", "adw_assets.lib.dagster_home", *args],
            capture_output=True, text=True, check=True, env=env,
        )  # fmt: skip
        return done.stdout

    assert run() == dh.DAGSTER_YAML
    assert run("--docker") == dh.render_dagster_yaml("postgres")
    assert yaml.safe_load(run("--docker"))["storage"]["postgres"]["postgres_db"]["db_name"] == {
        "env": "DAGSTER_PG_DB"
    }
