"""dbt on BigQuery (the emulator) against dbt on DuckDB, from the same source and events.

One source database seeded at scale 0.01 feeds two warehouses: DuckDB (the embedded default)
and a BigQuery emulator project. The same web events (some delivered twice) go to both, by the
Parquet landing zone and by insertAll. ``dbt build`` passes every model and test on each, and
the business marts agree to the cent; again after a round of source changes, incremental.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from adw_assets.lib.dbt import dbt_env, project_dir, run_dbt, store_card_hash_salt
from adw_assets.lib.events.generator import EventGenerator
from adw_assets.lib.events.reference import load_reference
from adw_assets.lib.events.sources import FileSource
from adw_assets.lib.events.stream import run_stream
from adw_assets.lib.replication import replicate_from_settings
from adw_assets.lib.source.seed import seed_database
from adw_assets.lib.source.server import dsn_with_user
from adw_assets.lib.warehouse import bigquery as bq
from adw_assets.settings import REPLICATION_ROLE, Settings, get_settings
from tests.bigquery.conftest import VENV_BQ, bigquery_env, new_project
from tests.bigquery.helpers import assert_marts_agree as marts_agree
from tests.dbt.dbt_chain import module_database

pytestmark = pytest.mark.bigquery
SALT = "bq-marts-salt-with-a-quote-'"


@dataclass
class Warehouses:
    dsn: str
    duck: Settings
    bq: Settings
    events_file: Path
    target: Path
    environments: dict[Path, dict[str, str]]
    """Each warehouse's home -> the ADW_* variables its settings come from."""

    def run(self, settings: Settings, fn, *args, **kwargs):
        """``fn`` with ``settings`` as the process's ADW_* environment."""
        with pytest.MonkeyPatch.context() as mp:
            for name in list(os.environ):
                if name.startswith("ADW_"):
                    mp.delenv(name)
            for name, value in self.environments[settings.home].items():
                mp.setenv(name, value)
            get_settings.cache_clear()
            try:
                return fn(*args, **kwargs)
            finally:
                get_settings.cache_clear()

    def replicate(self) -> None:
        for settings in (self.duck, self.bq):
            result = self.run(settings, lambda: replicate_from_settings(get_settings()))
            assert result.ok, result.failed

    def stream_events(self, tag: str) -> None:
        """The events file into both warehouses, twice (the second delivery repeats every
        event: the landing zone dead-letters repeats, BigQuery takes them, dbt dedupes)."""
        for settings in (self.duck, self.bq):
            for delivery in ("a", "b"):
                source = FileSource(self.events_file, name=f"{tag}-{delivery}")
                self.run(settings, run_stream, source, progress=None)

    def dbt_build_bigquery(self) -> dict:
        # dbt directly, as a user would: adw has stored the salt (as `adw build` does)
        self.run(self.bq, store_card_hash_salt, self.bq)
        env = {**os.environ, **dbt_env(self.bq), "DBT_LOG_PATH": str(self.target / "bq")}
        root = project_dir()
        done = subprocess.run(
            [str(VENV_BQ / "bin" / "dbt"), "build", "--project-dir", str(root),
             "--profiles-dir", str(root), "--target-path", str(self.target / "bq")],
            cwd=root, env=env, capture_output=True, text=True, check=False,
        )  # fmt: skip
        assert done.returncode == 0, (done.stdout + done.stderr)[-5000:]
        return json.loads((self.target / "bq" / "run_results.json").read_text())

    def dbt_build_duckdb(self) -> dict:
        run_dbt(["build"], settings=self.duck, target_path=self.target / "duck")
        return json.loads((self.target / "duck" / "run_results.json").read_text())


def write_events(path: Path, settings: Settings, count: int = 1500, start: int = 0) -> None:
    now = time.time()
    ref = load_reference(settings)
    events = EventGenerator(5, ref, stream="bq-compare").emit(
        start, count, now - 20 * 3600, now - 60
    )
    path.write_text("".join(json.dumps(e) + "\n" for e in events))


@pytest.fixture(scope="module")
def warehouses(pg_cluster, bq_emulator, tmp_path_factory):
    if not (VENV_BQ / "bin" / "dbt").exists():
        pytest.skip("dbt-bigquery is missing from .venv-bq: run `bash .ci/bigquery-env.sh`")
    root = tmp_path_factory.mktemp("bq-marts")
    with module_database(pg_cluster) as dsn:
        seed_database(dsn, scale=0.01, seed=21, progress=lambda _m: None)
        source = {
            "ADW_SOURCE_DSN": dsn,
            "ADW_REPLICATION_DSN": dsn_with_user(dsn, REPLICATION_ROLE),
            "ADW_CARD_HASH_SALT": SALT,  # the same on both: the hashes must agree
        }
        duck_env = {"ADW_HOME": str(root / "duck"), **source}
        bq_env = {
            "ADW_HOME": str(root / "bq"),
            **bigquery_env(bq_emulator, new_project()),
            **source,  # the salt of both
        }
        duck, bq_settings = Settings.from_env(duck_env), Settings.from_env(bq_env)
        environments = {duck.home: duck_env, bq_settings.home: bq_env}
        w = Warehouses(dsn, duck, bq_settings, root / "events.jsonl", root / "dbt", environments)
        w.replicate()
        w.run(duck, write_events, w.events_file, duck)
        w.stream_events("first")
        yield w


def assert_marts_agree(w: Warehouses) -> dict[str, int]:
    return marts_agree(w.duck.duckdb_path, bq.make_client(bq.bigquery_config(w.bq)))


def assert_all_passed(results: dict) -> int:
    failed = [(r["unique_id"], r["status"]) for r in results["results"]
              if r["status"] not in ("success", "pass", "no-op")]  # fmt: skip
    assert not failed, failed
    return len(results["results"])


def test_dbt_builds_every_model_and_test_on_bigquery_and_the_marts_match_duckdb(warehouses):
    w = warehouses
    nodes = assert_all_passed(w.dbt_build_bigquery())
    assert nodes == assert_all_passed(w.dbt_build_duckdb()) and nodes > 100
    sizes = assert_marts_agree(w)
    assert sizes["fct_web_events"] == 1500 and sizes["fct_orders"] > 100
    compiled = w.target / "bq" / "run" / "adw" / "models" / "marts" / "core" / "fct_sales.sql"
    ddl = compiled.read_text().lower()
    assert "partition by" in ddl and "cluster by product_id, customer_id" in ddl
    # the salt stays out of dbt's files; the hash is hex SHA-256 of (salt || card number)
    assert not [p for p in w.target.rglob("*") if p.is_file() and SALT.encode() in p.read_bytes()]
    client = bq.make_client(bq.bigquery_config(w.bq))
    hashes = bq.run(
        client,
        "select credit_card_id, card_number_hash from "
        f"{bq.table_ref(client.project, 'adw_marts', 'dim_credit_cards')}",
    )
    with psycopg.connect(w.dsn) as conn:
        cards = dict(conn.execute("select creditcardid, cardnumber from sales.creditcard"))
    assert len(hashes) == len(cards) > 0
    for card_id, digest in hashes:
        assert digest == hashlib.sha256((SALT + cards[card_id]).encode()).hexdigest()


@pytest.mark.slow  # a second whole dbt build on the emulator; the first journey stays fast-tier
def test_incremental_builds_after_source_changes_still_match(warehouses):
    from adw_assets.lib.source.simulate import simulate

    w = warehouses
    if not (w.target / "bq" / "run_results.json").exists():  # run alone (the slow tier)
        assert_all_passed(w.dbt_build_bigquery())  # the first builds the changes land on
        assert_all_passed(w.dbt_build_duckdb())
    simulate(w.dsn, orders=25, updates=30, seed=8, progress=lambda _m: None)
    w.replicate()
    w.events_file.write_text("")
    w.run(w.duck, write_events, w.events_file, w.duck, 300, 1500)  # 300 new events
    w.stream_events("second")
    assert_all_passed(w.dbt_build_bigquery())
    assert_all_passed(w.dbt_build_duckdb())
    sizes = assert_marts_agree(w)
    assert sizes["fct_web_events"] == 1800
