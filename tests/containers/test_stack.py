"""Smoke test of the compose stack (run by .ci/containers.sh once the stack is healthy).

From the host: the webserver's GraphQL API lists the `adw` code location; `adw launch elt_job
--wait` runs the job (queued by the daemon, executed by the code location's run worker); the
business marts in the DuckDB warehouse on the volume are filled; Dagster recorded the run in
PostgreSQL; only the webserver is published, on the loopback interface.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from adw_assets.lib.dagster_graphql import DagsterGraphQL

pytestmark = pytest.mark.containers

JOBS = ("elt_job", "web_events_job", "full_refresh_job")

WORKSPACE_QUERY = """
{
  workspaceOrError {
    __typename
    ... on Workspace {
      locationEntries {
        name
        loadStatus
        locationOrLoadError {
          __typename
          ... on RepositoryLocation { repositories { name jobs { name } } }
          ... on PythonError { message }
        }
      }
    }
  }
}
"""

# Tables of the marts schema with row counts, read inside the code location (where the
# warehouse volume is mounted) with the image's DuckDB, read-only.
MARTS_SCRIPT = """
import json, os, duckdb
con = duckdb.connect(os.environ["ADW_DUCKDB_PATH"], read_only=True)
tables = con.execute(
    "select table_schema, table_name from information_schema.tables "
    "where table_schema like '%marts' and table_type = 'BASE TABLE'"
).fetchall()
print(json.dumps({
    t: con.execute(f'select count(*) from "{s}"."{t}"').fetchone()[0] for s, t in tables
}))
"""


def test_webserver_lists_the_adw_location_with_its_jobs(stack):
    data = DagsterGraphQL(stack.url).execute(WORKSPACE_QUERY, {})
    entries = {e["name"]: e for e in data["workspaceOrError"]["locationEntries"]}
    assert set(entries) == {"adw"}
    location = entries["adw"]
    assert location["loadStatus"] == "LOADED"
    loaded = location["locationOrLoadError"]
    assert loaded["__typename"] == "RepositoryLocation", loaded.get("message")
    jobs = {job["name"] for repo in loaded["repositories"] for job in repo["jobs"]}
    assert set(JOBS) <= jobs


@pytest.fixture(scope="module")
def elt_run(stack) -> dict:
    """`adw launch elt_job --wait` from the host, as the Kestra flow does it over GraphQL."""
    adw = Path(sys.executable).with_name("adw")
    done = subprocess.run(
        [str(adw), "launch", "elt_job", "--wait", "--url", stack.url, "--timeout", "1500"],
        capture_output=True,
        text=True,
        timeout=1600,
    )
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    assert lines, f"adw launch printed no run:\n{done.stdout}{done.stderr}"
    result = lines[-1] | {"exit_code": done.returncode, "stderr": done.stderr}
    if result.get("seconds") is not None:
        stack.record(elt_job_seconds=result["seconds"])
    return result


def test_elt_job_launched_over_graphql_succeeds(elt_run):
    assert elt_run["status"] == "SUCCESS", elt_run["stderr"]
    assert elt_run["exit_code"] == 0
    assert elt_run["seconds"] > 0


def test_business_marts_in_the_warehouse_volume_are_filled(stack, elt_run):
    assert elt_run["status"] == "SUCCESS", elt_run["stderr"]
    counts = json.loads(stack.exec("code-location", "python3", "-c", MARTS_SCRIPT))
    reports = {t for t in counts if t.startswith("rpt_")}
    assert {"fct_orders", "fct_sales", "dim_customers", "dim_products"} <= set(counts)
    assert len(reports) >= 4, counts
    # web-traffic marts need the event stream, which this stack does not run
    business = {t: n for t, n in counts.items() if "web" not in t}
    assert business and all(n > 0 for n in business.values()), business


def test_dagster_recorded_the_run_in_postgres(stack, elt_run):
    status = stack.exec(
        "postgres",
        "sh",
        "-c",
        'psql -U "$POSTGRES_USER" -d "$ADW_DAGSTER_DB" -tAc '
        f"\"select status from runs where run_id = '{elt_run['run_id']}'\"",
    )
    assert status.strip() == "SUCCESS"


def test_only_the_webserver_is_published_and_on_loopback(stack):
    published = {}
    for service in ("postgres", "code-location", "webserver", "daemon"):
        out = subprocess.run(
            [stack.engine, "port", stack.container(service)],
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        published[service] = [line.split("->")[1].strip() for line in out.splitlines() if line]
    assert set(s for s, ports in published.items() if ports) == {"webserver"}, published
    assert all(p.startswith("127.0.0.1:") for p in published["webserver"]), published


def test_the_code_location_reads_the_source_as_the_read_only_role(stack):
    """`adw` in the code location (through the entrypoint: the password is a secret file)
    reads the source as adw_replicator, and cannot write to it."""
    status = stack.exec("code-location", "adw", "source", "status")
    assert "sales.salesorderheader" in status, status
    write = (
        "import os, psycopg\n"
        "with psycopg.connect(os.environ['ADW_SOURCE_DSN'], autocommit=True) as c:\n"
        "    print(c.info.user)\n"
        "    c.execute('set default_transaction_read_only = off')\n"
        "    c.execute('create temp table t (x int)')\n"
    )
    done = subprocess.run(
        [stack.engine, "exec", stack.container("code-location"),
         "adw-entrypoint", "python3", "-c", write],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode != 0 and "permission denied" in done.stderr, done.stderr
    assert done.stdout.strip() == "adw_replicator"


def test_no_secret_is_in_the_environment_of_the_containers(stack):
    """Secrets are files: `inspect` shows only their paths."""
    for service in ("postgres", "seed", "code-location", "webserver", "daemon"):
        try:
            cid = stack.container(service)
        except AssertionError:  # the seed has exited
            continue
        env = subprocess.run(
            [stack.engine, "inspect", "-f", "{{range .Config.Env}}{{println .}}{{end}}", cid],
            capture_output=True, text=True, check=True,
        ).stdout  # fmt: skip
        names = {line.split("=", 1)[0] for line in env.splitlines() if "=" in line}
        leaked = {n for n in names if n.endswith(("PASSWORD", "SALT")) and "AIRBYTE" not in n}
        assert not leaked, (service, leaked)


def test_files_the_runs_wrote_are_private(stack, elt_run):
    assert elt_run["status"] == "SUCCESS", elt_run["stderr"]
    exposed = stack.exec(
        "code-location", "find", "/var/lib/adw", "-perm", "/077", "!", "-type", "s"
    )
    assert exposed.strip() == "", exposed
