"""``adw up`` as a user types it: the source seeded, web events landed, ``elt_job`` run through
Dagster (replication, checks, dbt build, dashboard snapshot), and the five answers printed from
the snapshot the dashboard shows."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from adw_assets.lib.semantic import format_value

pytestmark = pytest.mark.slow
ADW = Path(sys.executable).with_name("adw")


@pytest.fixture(scope="module")
def up(tmp_path_factory, pg_cluster):
    """One `adw up` at a small scale, typed as a user types it: in a fresh project folder with
    neither ADW_HOME nor DAGSTER_HOME set (state goes to ./.adw), over a fresh source database."""
    import uuid

    import psycopg

    from adw_assets.lib.source.server import dsn_with_user, ensure_schema, with_database
    from adw_assets.settings import REPLICATION_ROLE

    project = tmp_path_factory.mktemp("up")
    home = project / ".adw"
    name = f"up_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(pg_cluster, autocommit=True) as conn:
        conn.execute(f'create database "{name}"')
    dsn = with_database(pg_cluster, name)
    ensure_schema(dsn)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ADW_", "DAGSTER_HOME"))}
    env.update(
        ADW_SOURCE_DSN=dsn,
        ADW_REPLICATION_DSN=dsn_with_user(dsn, REPLICATION_ROLE),
        ADW_CARD_HASH_SALT="test-salt-of-an-external-source",
    )
    proc = subprocess.run(
        [str(ADW), "up", "--scale", "0.05", "--events", "600"],
        env=env, cwd=project, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    yield proc, home
    with psycopg.connect(pg_cluster, autocommit=True) as conn:
        conn.execute(f'drop database if exists "{name}" with (force)')


def _sections(out: str) -> dict[int, list[str]]:
    sections: dict[int, list[str]] = {}
    current = None
    for line in out.splitlines():
        if m := re.match(r"^(\d)\. ", line):
            current = int(m[1])
            sections[current] = [line]
        elif current is not None and line.startswith("   "):
            sections[current].append(line)
        elif not line.strip():
            continue
        else:
            current = None
    return sections


def _one(home: Path, sql: str):
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_adw_up_answers_the_five_questions_with_the_marts_figures(up):
    proc, home = up
    assert proc.returncode == 0, proc.stderr[-3000:]
    sections = _sections(proc.stdout)
    assert sorted(sections) == [1, 2, 3, 4, 5], proc.stdout

    [(category, revenue)] = _one(home, "select category_name, round(sum(revenue), 2) from "
                                 "marts.rpt_sales_by_product_category group by 1 order by 2 desc "
                                 "limit 1")  # fmt: skip
    first = sections[1][3]  # title, headers, rule, first row
    assert first.split()[0] == category and format_value(revenue, "currency") in first

    [(month, new)] = _one(
        home,
        "select strftime(month_start, '%Y-%m'), new_customers from "
        "marts.rpt_customer_acquisition order by month_start desc limit 1",
    )
    assert sections[2][-1].split()[:2] == [month, f"{new:,}"]

    statuses = {r[0]: r[1] for r in _one(home, "select status_name, order_count from "
                                         "marts.rpt_order_status")}  # fmt: skip
    shipped = next(line for line in sections[3] if line.split()[0] == "Shipped")
    assert f"{statuses['Shipped']:,}" in shipped.split()

    [(country, due)] = _one(
        home,
        "select country_name, round(sum(total_due), 2) from "
        "marts.rpt_sales_by_geography group by 1 order by 2 desc limit 1",
    )
    assert (
        sections[4][3].startswith(f"   {country}")
        and format_value(due, "currency") in (sections[4][3])
    )

    [(web_country, sessions)] = _one(home, "select country_name, sessions from "
                                     "marts.rpt_web_traffic_by_country order by sessions desc, "
                                     "country_name limit 1")  # fmt: skip
    assert sessions > 0 and f"{sessions:,}" in sections[5][3] and web_country in sections[5][3]
    assert "Correlation (r)" in sections[5][-1]


def test_adw_up_is_one_elt_job_run_whose_checks_all_ran(up):
    proc, home = up
    assert proc.returncode == 0, proc.stderr[-3000:]
    os.environ["DAGSTER_HOME"] = str(home / "dagster")
    with dg.DagsterInstance.get() as instance:
        [run] = instance.get_runs()
        assert run.job_name == "elt_job" and run.status == dg.DagsterRunStatus.SUCCESS
        assert run.tags["adw/command"] == "up"
        records = instance.get_records_for_run(run.run_id).records
    checks = [
        r.event_log_entry.dagster_event.event_specific_data
        for r in records
        if r.event_log_entry.dagster_event
        and r.event_log_entry.dagster_event.event_type_value == "ASSET_CHECK_EVALUATION"
    ]
    names = {c.check_name for c in checks}
    assert "snapshot_has_every_dashboard_mart" in names
    assert "salesorderheader_matches_source_row_count" in names
    assert "dead_letter_ratio_below_threshold" in names
    # every check of the graph (elt_job selects every asset: tests/defs/test_one_definition.py)
    assert len(checks) == 171 and all(c.passed for c in checks)
    assert (home / "serving" / "snapshot.duckdb").is_file()  # the dashboard's snapshot
    for step in ("replication", "replication checks", "dbt build", "dashboard snapshot"):
        assert re.search(rf"^{step}\s+\d+\.\d$", proc.stdout, re.M), step


def test_the_first_build_of_a_fresh_home_parses_only_what_changed(up):
    """dbt parsed the project while the source was seeded, so the build of the same `adw up`
    reused that parse instead of parsing the whole project again (docs/performance.md)."""
    proc, home = up
    assert proc.returncode == 0, proc.stderr[-3000:]
    runs = home / "dbt" / "runs"
    [parse] = runs.glob("parse-*")
    assert "Starting full parse" in (parse / "dbt.log").read_text()  # the home had none
    [build] = runs.glob("*-adw_dbt_models")
    log = (build / "dbt.log").read_text()
    assert "Starting full parse" not in log, log[:3000]
    assert "Unable to do partial parsing" not in log, log[:3000]
    assert (home / "dbt" / "partial_parse.msgpack").is_file()
