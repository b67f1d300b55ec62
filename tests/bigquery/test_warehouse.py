"""The warehouse interface answers the same on DuckDB and on BigQuery (the emulator): the
checks, the sensor and the dashboard snapshot are written once against it."""

from __future__ import annotations

from decimal import Decimal

import pyarrow.parquet as pq
import pytest

from adw_assets.defs.warehouse.resources import warehouse_resource
from adw_assets.lib.warehouse import bigquery as bq
from adw_assets.settings import get_settings

pytestmark = pytest.mark.bigquery

ROWS = [(1, "Bikes", Decimal("1234.5600")), (2, "Helmets", Decimal("10.0100"))]


@pytest.fixture(params=["duckdb", "bigquery"])
def warehouse(request, adw_home):
    """The warehouse resource of either kind, holding the table ``marts.sample``."""
    if request.param == "bigquery":
        project = request.getfixturevalue("bq_warehouse")
        client = bq.make_client()
        bq.ensure_dataset(client, "marts", "US")
        bq.run(client, f"create table {bq.table_ref(project, 'marts', 'sample')} "
                       "(id int64, name string, amount numeric)")  # fmt: skip
        values = ", ".join(f"({i}, '{n}', numeric '{a}')" for i, n, a in ROWS)
        bq.run(client, f"insert into {bq.table_ref(project, 'marts', 'sample')} values {values}")
    else:
        import duckdb

        adw_home.mkdir(parents=True, exist_ok=True)
        with duckdb.connect(str(get_settings().duckdb_path)) as con:
            con.execute("create schema marts")
            con.execute(
                "create table marts.sample (id integer, name varchar, amount decimal(19,4))"
            )
            con.executemany("insert into marts.sample values (?, ?, ?)", ROWS)
    get_settings.cache_clear()
    return warehouse_resource()


def test_the_same_answers_from_either_warehouse(warehouse, tmp_path):
    with warehouse.open() as wh:
        assert wh.exists("marts", "sample") and not wh.exists("marts", "absent")
        table = wh.table("marts", "sample")
        [(count, total)] = wh.rows(f"select count(*), sum({wh.quote('amount')}) from {table}")
        assert (count, Decimal(str(total))) == (2, Decimal("1244.57"))
        rows, columns = wh.export_parquet("marts", "sample", tmp_path / "sample.parquet")
    assert (rows, columns) == (2, ["id", "name", "amount"])
    exported = pq.read_table(tmp_path / "sample.parquet").to_pylist()
    assert sorted((r["id"], r["name"], Decimal(str(r["amount"]))) for r in exported) == ROWS
    assert not list(tmp_path.glob(".*tmp"))  # written to a temp file, then renamed


def test_bigquery_adds_the_tables_last_modification(warehouse):
    with warehouse.open() as wh:
        metadata = wh.table_metadata("marts", "sample")
    if warehouse.kind == "duckdb":
        assert metadata == {}
    else:
        assert metadata["minutes_since_modified"] >= 0 and metadata["last_modified"] is not None


def test_the_shapes_of_a_build_in_one_go_from_either_warehouse(warehouse):
    """What `adw build` attaches to each model: its columns, and its rows when counted."""
    sample, absent = ("marts", "sample"), ("marts", "absent")
    with warehouse.open() as wh:
        shapes = wh.shapes([sample, absent], counted=[sample, absent])
        uncounted = wh.shapes([sample], counted=[])
    assert list(shapes) == [sample]  # a relation that does not exist is left out
    assert [name for name, _ in shapes[sample].columns] == ["id", "name", "amount"]
    assert all(kind for _, kind in shapes[sample].columns)
    assert shapes[sample].rows == 2
    assert uncounted[sample].rows is None and uncounted[sample].columns == shapes[sample].columns
