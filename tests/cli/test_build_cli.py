"""``adw build`` as a user types it, twice in a row: the second build, with nothing new since the
first, does nothing (no Dagster run, no dbt), and what the warehouse then holds equals a full
rebuild; after new rows reach the source and are replicated, the build runs again and equals a
full rebuild too. A selection keeps what the last whole build recorded, and moves a source on
only when it rebuilt everything downstream of it."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from adw_assets.lib.source.seed import seed_database
from adw_assets.lib.source.simulate import simulate
from tests.dbt.dbt_chain import module_database, quiet
from tests.support.live_dagster import adw_env

pytestmark = pytest.mark.slow
ADW = Path(sys.executable).with_name("adw")
NOTHING_NEW = "nothing new since the last build"


@pytest.fixture(scope="module")
def project(pg_cluster, tmp_path_factory):
    home = tmp_path_factory.mktemp("build-cli")
    with module_database(pg_cluster) as dsn:
        seed_database(dsn, scale=0.05, seed=3, today=date(2025, 6, 1), progress=quiet)
        env = adw_env(home, dsn)
        yield dsn, home, env


def adw(env: dict, *args: str) -> subprocess.CompletedProcess:
    done = subprocess.run([str(ADW), *args], env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def runs(home: Path) -> int:
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        return len(instance.get_run_records())


def nothing_new(env: dict, home: Path, day: date, *args: str) -> subprocess.CompletedProcess:
    """`adw build` right after a whole build: the no-op, which starts no Dagster run (so no
    dbt). The UTC day is an input of a build (``dim_dates`` runs to the end of the current year):
    when midnight passed since ``day``, the first build after it rebuilds, and the next one is
    the no-op."""
    recorded = runs(home)
    done = adw(env, "build", *args)
    if NOTHING_NEW not in done.stderr and datetime.now(UTC).date() != day:
        recorded = runs(home)
        done = adw(env, "build", *args)
    assert NOTHING_NEW in done.stderr, done.stderr[-3000:]
    assert runs(home) == recorded
    return done


def marts(home: Path) -> dict[str, list[tuple]]:
    """Every table of the marts, its rows sorted; doubles rounded (a parallel sum may differ
    in its last bits from one run to the next)."""
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        tables = [t for (t,) in con.execute(
            "select table_name from information_schema.tables "
            "where table_schema = 'marts' and table_type = 'BASE TABLE' order by 1"
        ).fetchall()]  # fmt: skip
        return {
            t: [
                tuple(round(v, 6) if isinstance(v, float) else v for v in row)
                for row in con.execute(f'select * from marts."{t}" order by all').fetchall()
            ]
            for t in tables
        }


def test_a_build_with_nothing_new_does_nothing_and_equals_a_full_rebuild(project):
    dsn, home, env = project
    day = datetime.now(UTC).date()
    adw(env, "replicate")
    first = adw(env, "build", "--no-answers")
    assert NOTHING_NEW not in first.stderr
    # the record holds a hash of the inputs, never the salt in it; private like all of ADW_HOME
    record = home / "dbt" / "last_build.json"
    assert env["ADW_CARD_HASH_SALT"] not in record.read_text()
    assert record.stat().st_mode & 0o077 == 0

    again = nothing_new(env, home, day)
    assert "1. " in again.stdout  # the answers still print, from the snapshot
    built = marts(home)
    assert len(built) >= 12 and built["fct_orders"]

    adw(env, "build", "--full-refresh", "--no-answers")
    assert marts(home) == built

    # new orders and updates, replicated: the next build is no no-op, and equals a full rebuild
    simulate(dsn, orders=25, updates=25, seed=11, progress=quiet)
    adw(env, "replicate")
    incremental = adw(env, "build", "--no-answers")
    assert NOTHING_NEW not in incremental.stderr
    after = marts(home)
    assert after != built
    adw(env, "build", "--full-refresh", "--no-answers")
    assert marts(home) == after


def test_a_selection_moves_the_record_on_only_for_the_sources_it_rebuilt_all_of(project):
    dsn, home, env = project
    day = datetime.now(UTC).date()
    adw(env, "build", "--no-answers")
    nothing_new(env, home, day, "--no-answers")
    # a selection always runs; with nothing new, the whole build after it still has nothing to do
    assert NOTHING_NEW not in adw(env, "build", "stg_sales__orders").stderr
    nothing_new(env, home, day, "--no-answers")

    # new orders; a selection that rebuilds part of what they reach leaves them new
    simulate(dsn, orders=10, updates=0, seed=12, progress=quiet)
    adw(env, "replicate")
    adw(env, "build", "stg_sales__orders")
    warm = adw(env, "build", "--no-answers").stderr
    assert NOTHING_NEW not in warm and "sales.salesorderheader" in warm, warm[-3000:]
    nothing_new(env, home, day, "--no-answers")
    after = marts(home)
    adw(env, "build", "--full-refresh", "--no-answers")
    assert marts(home) == after

    # new web events; the selection of everything downstream of them (the sensor's
    # web_events_job builds the same) moves them on: the next whole build has nothing to do
    adw(env, "events", "stream", "-n", "100", "--rate", "0", "--seed", "4", "-q")
    adw(env, "build", "source:web.events+")
    nothing_new(env, home, day, "--no-answers")
