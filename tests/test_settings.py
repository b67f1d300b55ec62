"""adw_assets.settings: every ADW_* variable parsed, validated and reported in one place."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from adw_assets import settings as settings_module
from adw_assets.errors import ConfigError
from adw_assets.settings import COMPOSE_ONLY, OTHER_KNOWN, Settings, get_settings, variables

ROOT = Path(__file__).resolve().parents[1]


def test_defaults(tmp_path):
    s = Settings.from_env({"ADW_HOME": str(tmp_path)})

    assert s.home == tmp_path.resolve()
    assert s.duckdb_path == tmp_path.resolve() / "warehouse.duckdb"
    assert (s.warehouse, s.replication, s.dbt_target, s.raw_prefix) == (
        "duckdb", "embedded", "local", "raw_",
    )  # fmt: skip
    assert s.dagster_url == "http://127.0.0.1:3000/graphql"
    assert s.embedded and s.source_dsn is None and s.replication_dsn is None
    assert (s.replication_workers, s.replication_memory_limit) == (2, "128MB")
    assert s.test_pause_at is None
    assert (s.replication_lag_seconds, s.replication_retries) == (300, 3)
    assert s.replication_batch_rows == 50_000 and s.replication_raw_history is False
    assert s.events_lookback_hours == 24.0 and s.events_max_dead_letter_ratio == 0.05
    assert (s.bq_project, s.bq_location, s.bq_dataset_prefix) == (None, "US", "adw_")
    assert s.airbyte_url is None and s.airbyte_cloud is False and s.airbyte_poll_timeout is None
    assert (s.pgdata, s.dagster_home, s.events_dir) == (
        s.home / "postgres", s.home / "dagster", s.home / "events",
    )  # fmt: skip


def test_values_are_parsed_to_their_types(tmp_path):
    s = Settings.from_env(
        {
            "ADW_HOME": str(tmp_path),
            "ADW_WAREHOUSE": " BigQuery ",
            "ADW_DUCKDB_PATH": str(tmp_path / "w" / ".." / "x.duckdb"),
            "ADW_DAGSTER_PORT": "3111",
            "ADW_REPLICATION_WORKERS": " 4 ",
            "ADW_REPLICATION_MEMORY_LIMIT": "1.5 GiB",
            "ADW_REPLICATION_RAW_HISTORY": "TRUE",
            "ADW_EVENTS_FLUSH_SECONDS": "0.2",
            "ADW_AIRBYTE_URL": "http://airbyte:8000/api/public/v1/",
            "ADW_AIRBYTE_CLOUD": "yes",
            "ADW_BQ_ENDPOINT": "http://127.0.0.1:9050/",
            "ADW_TEST_PAUSE_AT": "after_write@sales.salesorderheader",
        }
    )

    assert s.warehouse == "bigquery" and s.dbt_target == "prod"
    assert s.duckdb_path == tmp_path.resolve() / "x.duckdb"
    assert s.dagster_url == "http://127.0.0.1:3111/graphql"
    assert s.replication_workers == 4 and s.replication_memory_limit == "1.5 GiB"
    assert s.replication_raw_history is True and s.events_flush_seconds == 0.2
    assert s.airbyte_url == "http://airbyte:8000" and s.airbyte_cloud is True
    assert s.bq_endpoint == "http://127.0.0.1:9050"
    assert s.test_pause_at == "after_write@sales.salesorderheader"


def test_an_empty_value_is_unset(tmp_path):
    s = Settings.from_env({"ADW_HOME": str(tmp_path), "ADW_RAW_PREFIX": "", "ADW_DBT_TARGET": " "})
    assert s.raw_prefix == "raw_" and s.dbt_target == "local"


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("ADW_REPLICATION_BATCH_ROWS", "x",
         "ADW_REPLICATION_BATCH_ROWS='x' is not a whole number; set it to e.g. 50000."),
        ("ADW_REPLICATION_WORKERS", "two",
         "ADW_REPLICATION_WORKERS='two' is not a whole number; set it to e.g. 2."),
        ("ADW_REPLICATION_WORKERS", "0",
         "ADW_REPLICATION_WORKERS='0' is below the minimum 1; set it to 1 or more."),
        ("ADW_REPLICATION_MEMORY_LIMIT", "1GB'; drop table x; --",
         "ADW_REPLICATION_MEMORY_LIMIT=\"1GB'; drop table x; --\" is not a DuckDB size (a number "
         "and B, KB, MB, GB, ...); set it to e.g. 128MB."),
        ("ADW_DBT_MEMORY_LIMIT", "100%'; drop table x; --",
         "ADW_DBT_MEMORY_LIMIT=\"100%'; drop table x; --\" is not a DuckDB size (a number and B, "
         "KB, MB, GB, ...) or a percentage of the machine's memory; set it to e.g. 2GB or 50%."),
        ("ADW_WAREHOUSE", "snowflake",
         "ADW_WAREHOUSE='snowflake' is not one of duckdb, bigquery; set it to one of them."),
        ("ADW_EVENTS_LOOKBACK_HOURS", "0",
         "ADW_EVENTS_LOOKBACK_HOURS='0' is out of range; use a value from 1.0 to 8784.0."),
        ("ADW_EVENTS_MAX_DEAD_LETTER_RATIO", "nan",
         "ADW_EVENTS_MAX_DEAD_LETTER_RATIO='nan' is out of range; use a value from 0.0 to 1.0."),
        ("ADW_EVENTS_FLUSH_SECONDS", "soon",
         "ADW_EVENTS_FLUSH_SECONDS='soon' is not a number; set it to e.g. 1.0."),
        ("ADW_AIRBYTE_POLL_TIMEOUT", "0",
         "ADW_AIRBYTE_POLL_TIMEOUT='0' must be above 0; set it to e.g. 3600."),
        ("ADW_REPLICATION_RAW_HISTORY", "maybe",
         "ADW_REPLICATION_RAW_HISTORY='maybe' is not true or false; set it to true or false."),
        ("ADW_RAW_PREFIX", "raw-",
         "ADW_RAW_PREFIX='raw-' may hold only letters, digits and _; set it to e.g. raw_."),
        ("ADW_DAGSTER_PORT", "70000",
         "ADW_DAGSTER_PORT='70000' is out of range; use a value from 1 to 65535."),
        ("ADW_AIRBYTE_URL", "airbyte:8000",
         "ADW_AIRBYTE_URL='airbyte:8000' is not an http(s) URL; set it to the Airbyte host, "
         "e.g. http://localhost:8000."),
    ],
)  # fmt: skip
def test_a_bad_value_is_one_line_naming_the_variable_and_the_fix(monkeypatch, name, value, message):
    monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    with pytest.raises(ConfigError) as caught:
        get_settings()

    assert str(caught.value) == message
    assert caught.value.__cause__ is None and caught.value.__suppress_context__  # no pydantic


def test_every_bad_value_is_named_on_the_one_line():
    with pytest.raises(ConfigError) as caught:
        Settings.from_env({"ADW_REPLICATION_WORKERS": "0", "ADW_WAREHOUSE": "x"})
    text = str(caught.value)
    assert "\n" not in text
    assert "ADW_WAREHOUSE='x'" in text and "ADW_REPLICATION_WORKERS='0'" in text


def test_secrets_never_show_in_repr_or_str(tmp_path):
    secret = "hunter2-not-for-logs"
    s = Settings.from_env(
        {
            "ADW_HOME": str(tmp_path),
            "ADW_SOURCE_DSN": f"postgresql://adw:{secret}@db/adventureworks",
            "ADW_REPLICATION_DSN": f"postgresql://adw_replicator:{secret}@db/adventureworks",
            "ADW_DAGSTER_TOKEN": secret,
            "ADW_CARD_HASH_SALT": secret,
            "ADW_AIRBYTE_CLIENT_SECRET": secret,
            "ADW_AIRBYTE_PASSWORD": secret,
        }
    )

    assert secret not in repr(s) and secret not in str(s)
    assert s.dagster_token.get_secret_value() == secret
    assert s.card_hash_salt.get_secret_value() == secret
    assert s.source_dsn.endswith("@db/adventureworks")  # the DSN itself stays a plain str


def test_get_settings_reads_the_environment_once(monkeypatch):
    first = get_settings()
    monkeypatch.setenv("ADW_REPLICATION_WORKERS", "5")
    assert get_settings() is first and first.replication_workers == 2
    get_settings.cache_clear()
    assert get_settings().replication_workers == 5


def test_an_unknown_variable_is_reported_once_with_the_nearest_name(monkeypatch, capsys):
    monkeypatch.setattr(settings_module, "_warned", set())
    for name, value in {
        "ADW_WAREHOUSEE": "bigquery",
        "ADW_NO_SUCH_THING": "1",
        "ADW_SEED_SCALE": "0.1",  # compose only: known
        "ADW_CI_IMAGE": "x",  # CI knob: known
        "ADW_EVENTS_DIR": "/x",  # adw sets it for dbt: known
    }.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    assert get_settings().warehouse == "duckdb"  # the typo did nothing, but it is said

    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "adw: warning: ADW_NO_SUCH_THING is not an adw setting and is ignored; see README.md, "
        "Configuration.",
        "adw: warning: ADW_WAREHOUSEE is not an adw setting and is ignored; did you mean "
        "ADW_WAREHOUSE?",
    ]
    get_settings.cache_clear()
    get_settings()
    assert capsys.readouterr().err == ""


def _names_in(*globs: str) -> set[str]:
    names = set()
    for pattern in globs:
        for path in ROOT.glob(pattern):
            if path.is_file():
                names |= set(re.findall(r"\bADW_[A-Z0-9_]*[A-Z0-9]\b", path.read_text()))
    return names


def test_every_adw_variable_in_the_repository_is_declared():
    used = _names_in(
        "adw_assets/**/*.py", "dashboard/**/*.py", "dbt/**/*.sql", "dbt/**/*.yml",
        "compose.yaml", "Dockerfile", "docker/**/*.sh", ".ci/*.sh", "kestra_flows/*.yml",
        "README.md", "docs/*.md",
    )  # fmt: skip
    known = {*variables(), *COMPOSE_ONLY, *OTHER_KNOWN}
    markers = {"ADW_TEST_PAUSED", "ADW_DAGSTER_GRAPHQL_URL"}  # a log marker; a Kestra secret
    undeclared = {n for n in used - known - markers if not n.startswith("ADW_CI_")}
    assert not undeclared, f"declare these in adw_assets/settings.py: {sorted(undeclared)}"


def test_no_module_reads_adw_variables_itself():
    reads = re.compile(r"(getenv|environ\.get|environ\[)\(?\s*[\"']ADW_")
    offenders = [
        str(path.relative_to(ROOT))
        for pattern in ("adw_assets/**/*.py", "dashboard/**/*.py")
        for path in ROOT.glob(pattern)
        if path.name != "settings.py" and reads.search(path.read_text())
    ]
    assert not offenders


def test_default_home_is_absolute_under_the_working_directory(tmp_path, monkeypatch):
    """Unset ADW_HOME is ./.adw resolved: Dagster refuses a relative DAGSTER_HOME."""
    monkeypatch.chdir(tmp_path)
    s = Settings.from_env({})
    assert s.home == tmp_path.resolve() / ".adw"
    assert s.dagster_home.is_absolute() and s.duckdb_path == s.home / "warehouse.duckdb"
