"""Helpers for the dbt tests: the real chain (PostgreSQL source -> embedded replicator ->
DuckDB -> dbt) set up once per test module, independent of the per-test ``ADW_HOME``."""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import psycopg
import pytest

from adw_assets.lib.dbt import run_dbt
from adw_assets.lib.replication import DuckDBDestination, replicate
from adw_assets.lib.source.server import ensure_schema, with_database
from adw_assets.settings import Settings, get_settings


def settings_for(home: Path, **env: str) -> Settings:
    """Settings for ``ADW_HOME=home`` plus ``env``, independent of the per-test environment."""
    with pytest.MonkeyPatch.context() as mp:
        for name in list(os.environ):
            if name.startswith("ADW_"):
                mp.delenv(name)
        mp.setenv("ADW_HOME", str(home))
        for name, value in env.items():
            mp.setenv(name, value)
        get_settings.cache_clear()
        settings = get_settings()
    get_settings.cache_clear()
    return settings


@dataclass
class Chain:
    """A source database, a warehouse and dbt, wired as adw wires them."""

    dsn: str
    settings: Settings
    target: Path
    results: dict[str, dict] = field(default_factory=dict)
    """run_results of the last dbt command, by unique_id."""

    @property
    def duckdb_path(self) -> Path:
        return self.settings.duckdb_path

    def replicate(self) -> None:
        result = replicate(
            self.dsn, DuckDBDestination(self.duckdb_path), prefix=self.settings.raw_prefix
        )
        assert result.ok, result

    def dbt(self, *args: str) -> dict[str, dict]:
        """Run dbt; return run_results by unique_id (raises DbtError when dbt fails)."""
        run_dbt(list(args), settings=self.settings, target_path=self.target)
        results = json.loads((self.target / "run_results.json").read_text())["results"]
        self.results = {r["unique_id"]: r for r in results}
        return self.results

    def pg(self, query: str, params: tuple = ()) -> list[tuple]:
        with psycopg.connect(self.dsn) as conn:
            return conn.execute(query, params).fetchall()

    def pg_execute(self, statement: str, params: tuple = ()) -> None:
        with psycopg.connect(self.dsn) as conn:
            conn.execute(statement, params)

    def duck(self, query: str) -> list[tuple]:
        with duckdb.connect(str(self.duckdb_path), read_only=True) as con:
            return con.execute(query).fetchall()


@contextmanager
def module_database(pg_cluster: str) -> Iterator[str]:
    """A fresh database with the AdventureWorks DDL, for one test module."""
    name = f"m_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_cluster, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    dsn = with_database(pg_cluster, name)
    ensure_schema(dsn)
    try:
        yield dsn
    finally:
        with psycopg.connect(pg_cluster, autocommit=True) as conn:
            conn.execute(f'drop database if exists "{name}" with (force)')


def quiet(_message: str) -> None:
    """A progress callback that prints nothing."""
