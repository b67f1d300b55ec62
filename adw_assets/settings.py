"""The one place that reads the ``ADW_*`` environment.

Every other module asks :func:`get_settings` and never calls ``os.getenv`` itself. The
environment is read once per process; tests call ``get_settings.cache_clear()`` (the
``adw_home`` fixture does) after changing it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from adw_assets.errors import ConfigError

SOURCE_DATABASE = "adventureworks"
REPLICATION_ROLE = "adw_replicator"

WAREHOUSES = ("duckdb", "bigquery")
REPLICATIONS = ("embedded", "airbyte")


@dataclass(frozen=True)
class Settings:
    """Resolved configuration. Paths are absolute."""

    home: Path
    source_dsn: str | None
    """``ADW_SOURCE_DSN``: an existing PostgreSQL database; ``None`` = embedded server."""
    replication_dsn: str | None
    """``ADW_REPLICATION_DSN``: DSN of the read-only role; defaults to the source DSN."""
    warehouse: str
    duckdb_path: Path
    raw_prefix: str
    replication: str
    replication_lag_seconds: int
    replication_retries: int
    replication_batch_rows: int
    replication_raw_history: bool
    """``ADW_REPLICATION_RAW_HISTORY``: keep Airbyte's raw history tables (default true)."""
    replication_workers: int
    """``ADW_REPLICATION_WORKERS``: streams replicated at the same time (default 2)."""
    replication_memory_limit: str
    """``ADW_REPLICATION_MEMORY_LIMIT``: DuckDB's memory limit during a run (default 128MB)."""
    test_pause_at: str | None
    """``ADW_TEST_PAUSE_AT``: tests only, where the replicator pauses for a ``kill -9``."""
    dbt_target: str
    dagster_port: int
    dashboard_port: int
    env: dict[str, str]
    """Every ``ADW_*`` variable as read, for the modules of later features."""

    @property
    def pgdata(self) -> Path:
        return self.home / "postgres"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def events_dir(self) -> Path:
        return self.home / "events"

    @property
    def dagster_url(self) -> str:
        """GraphQL endpoint of the Dagster webserver (``ADW_DAGSTER_URL``)."""
        default = f"http://127.0.0.1:{self.dagster_port}/graphql"
        return self.env.get("ADW_DAGSTER_URL") or default

    @property
    def embedded(self) -> bool:
        return self.source_dsn is None

    def get(self, name: str, default: str | None = None) -> str | None:
        """An ``ADW_*`` variable by its full name, for settings owned by one feature."""
        return self.env.get(name, default)

    def ensure_dirs(self) -> None:
        for path in (self.home, self.dagster_home, self.events_dir):
            path.mkdir(parents=True, exist_ok=True)


def _int(env: dict[str, str], name: str, default: int, minimum: int = 0) -> int:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(
            f"{name}={raw!r} is not a whole number; set it to e.g. {default}."
        ) from None
    if value < minimum:
        raise ConfigError(f"{name}={value} is below the minimum {minimum}.")
    return value


def _choice(env: dict[str, str], name: str, default: str, choices: tuple[str, ...]) -> str:
    value = (env.get(name) or default).strip().lower()
    if value not in choices:
        raise ConfigError(f"{name}={value!r} is not one of {', '.join(choices)}.")
    return value


@cache
def get_settings() -> Settings:
    env = {k: v for k, v in os.environ.items() if k.startswith("ADW_")}
    home = Path(env.get("ADW_HOME") or ".adw").expanduser().resolve()
    source_dsn = env.get("ADW_SOURCE_DSN") or None
    warehouse = _choice(env, "ADW_WAREHOUSE", "duckdb", WAREHOUSES)
    raw_prefix = env.get("ADW_RAW_PREFIX", "raw_")
    if not raw_prefix:
        raise ConfigError(
            "ADW_RAW_PREFIX is empty; the replicated schemas would collide with the source "
            "schema names in the asset graph. Leave it unset (default 'raw_') or set a prefix."
        )
    duckdb_path = Path(env.get("ADW_DUCKDB_PATH") or home / "warehouse.duckdb").expanduser()
    return Settings(
        home=home,
        source_dsn=source_dsn,
        replication_dsn=env.get("ADW_REPLICATION_DSN") or None,
        warehouse=warehouse,
        duckdb_path=duckdb_path.resolve(),
        raw_prefix=raw_prefix,
        replication=_choice(env, "ADW_REPLICATION", "embedded", REPLICATIONS),
        replication_lag_seconds=_int(env, "ADW_REPLICATION_LAG_SECONDS", 300),
        replication_retries=_int(env, "ADW_REPLICATION_RETRIES", 3),
        replication_batch_rows=_int(env, "ADW_REPLICATION_BATCH_ROWS", 100_000, minimum=1),
        replication_raw_history=_choice(
            env, "ADW_REPLICATION_RAW_HISTORY", "true", ("true", "false")
        )
        == "true",
        replication_workers=_int(env, "ADW_REPLICATION_WORKERS", 2, minimum=1),
        replication_memory_limit=env.get("ADW_REPLICATION_MEMORY_LIMIT") or "128MB",
        test_pause_at=env.get("ADW_TEST_PAUSE_AT") or None,
        dbt_target=env.get("ADW_DBT_TARGET") or ("prod" if warehouse == "bigquery" else "local"),
        dagster_port=_int(env, "ADW_DAGSTER_PORT", 3000, minimum=1),
        dashboard_port=_int(env, "ADW_DASHBOARD_PORT", 8501, minimum=1),
        env=env,
    )
