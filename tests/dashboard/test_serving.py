"""export_snapshot and the Snapshot reader against real DuckDB files and processes."""

from __future__ import annotations

import threading
import time

import duckdb
import pytest

from adw_assets.lib.serving import MANIFEST, Snapshot, SnapshotError
from adw_assets.lib.warehouse import NoWarehouseError, WarehouseBusyError
from tests.dashboard.conftest import export, hold_warehouse

MARTS = (
    "rpt_customer_acquisition",
    "rpt_order_status",
    "rpt_sales_by_geography",
    "rpt_sales_by_product_category",
    "rpt_web_traffic_by_country",
    "rpt_web_traffic_daily",
    "rpt_web_traffic_order_value_correlation",
)


def test_export_copies_every_mart_exactly(warehouse, tmp_path):
    out = tmp_path / "serving"
    manifest = export(warehouse, out)
    assert sorted(manifest["marts"]) == list(MARTS)
    assert sorted(p.name for p in out.iterdir()) == sorted([*(f"{m}.parquet" for m in MARTS),
                                                            MANIFEST])  # fmt: skip
    con = duckdb.connect(str(warehouse), read_only=True)
    for mart in MARTS:
        f = str(out / f"{mart}.parquet")
        for a, b in (
            (f"marts.{mart}", f"read_parquet('{f}')"),
            (f"read_parquet('{f}')", f"marts.{mart}"),
        ):
            diff = con.execute(f"select count(*) from (from {a} except all from {b})").fetchone()
            assert diff == (0,), mart
        rows = con.execute(f"select count(*) from marts.{mart}").fetchone()[0]
        assert manifest["marts"][mart]["rows"] == rows
    money = con.execute(
        f"select column_type from (describe from read_parquet('{out}/rpt_order_status.parquet')) "
        "where column_name = 'total_due'"
    ).fetchone()[0]
    assert money.startswith("DECIMAL")  # exact money survives the export
    con.close()


def test_export_removes_marts_gone_from_the_warehouse(warehouse, tmp_path):
    out = tmp_path / "serving"
    export(warehouse, out)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("drop table marts.rpt_web_traffic_daily")
    manifest = export(warehouse, out)
    assert "rpt_web_traffic_daily" not in manifest["marts"]
    assert not (out / "rpt_web_traffic_daily.parquet").exists()


def test_export_waits_for_a_writer_to_finish(warehouse, tmp_path):
    holder = hold_warehouse(warehouse, 1.5)
    try:
        started = time.monotonic()
        manifest = export(warehouse, tmp_path / "serving", timeout=30)
        assert time.monotonic() - started >= 0.5
        assert len(manifest["marts"]) == len(MARTS)
    finally:
        holder.kill()
        holder.wait()


def test_export_gives_up_with_a_message_when_the_lock_stays(warehouse, tmp_path):
    holder = hold_warehouse(warehouse, 30)
    try:
        with pytest.raises(WarehouseBusyError, match="locked by another process"):
            export(warehouse, tmp_path / "serving", timeout=0.5)
    finally:
        holder.kill()
        holder.wait()


def test_export_without_warehouse_says_what_to_run(tmp_path):
    with pytest.raises(NoWarehouseError, match="adw up"):
        export(tmp_path / "absent.duckdb", tmp_path / "serving")


def test_export_in_the_process_that_holds_the_warehouse(warehouse, tmp_path):
    with duckdb.connect(str(warehouse)):  # e.g. right after an in-process build
        manifest = export(warehouse, tmp_path / "serving", timeout=0)
    assert len(manifest["marts"]) == len(MARTS)


def test_snapshot_reloads_replaced_files_and_names_what_is_missing(warehouse, tmp_path):
    out = tmp_path / "serving"
    export(warehouse, out)
    snap = Snapshot(out)
    snap.refresh()
    total = "select sum(order_count) from rpt_order_status"
    before = int(snap.query(total).iloc[0, 0])
    with duckdb.connect(str(warehouse)) as con:
        con.execute("update marts.rpt_order_status set order_count = order_count + 1")
        con.execute("alter table marts.rpt_sales_by_geography drop column city")
    export(warehouse, out)
    snap.refresh()
    assert int(snap.query(total).iloc[0, 0]) == before + 6
    with pytest.raises(SnapshotError, match="lacks the column"):
        snap.require("rpt_sales_by_geography")
    (out / "rpt_order_status.parquet").unlink()
    snap.refresh()
    with pytest.raises(SnapshotError, match="adw up"):
        snap.require("rpt_order_status")


def test_reads_never_fail_while_exports_replace_the_files(warehouse, tmp_path):
    out = tmp_path / "serving"
    export(warehouse, out)
    snap = Snapshot(out)
    stop = threading.Event()
    errors: list[BaseException] = []

    def exporter() -> None:
        n = 0
        try:
            while not stop.is_set():
                with duckdb.connect(str(warehouse)) as con:
                    con.execute("update marts.rpt_order_status set order_count = order_count + 1")
                export(warehouse, out)
                n += 1
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=exporter)
    thread.start()
    seen = set()
    try:
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:
            snap.refresh()
            snap.require("rpt_order_status", "rpt_sales_by_product_category")
            seen.add(int(snap.query("select sum(order_count) from rpt_order_status").iloc[0, 0]))
    finally:
        stop.set()
        thread.join()
    assert not errors
    assert len(seen) > 1  # the reader saw several exports go by
