"""export_snapshot and the Snapshot reader against a warehouse built by the real chain."""

from __future__ import annotations

import json
import threading
import time

import duckdb
import pytest

from adw_assets.lib import charts
from adw_assets.lib.dbt import ensure_manifest
from adw_assets.lib.serving import MANIFEST, SNAPSHOT_DB, Snapshot, SnapshotError, dashboard_marts
from adw_assets.lib.warehouse import NoWarehouseError, WarehouseBusyError
from tests.dashboard.conftest import export, hold_warehouse

MARTS = (
    "dim_addresses",
    "dim_customers",
    "dim_order_statuses",
    "dim_products",
    "fct_orders",
    "fct_sales",
    "fct_web_events",
    "metricflow_time_spine",
    "rpt_web_traffic_order_value_correlation",
)


def test_export_copies_every_relation_exactly_with_the_semantic_manifest(warehouse, tmp_path):
    out = tmp_path / "serving"
    manifest = export(warehouse, out)
    assert sorted(manifest["marts"]) == list(MARTS)
    assert sorted(p.name for p in out.iterdir()) == sorted([SNAPSHOT_DB, MANIFEST])
    con = duckdb.connect(str(warehouse), read_only=True)
    con.execute(f"attach '{out / SNAPSHOT_DB}' as snap (read_only)")
    for mart in MARTS:
        for a, b in (
            (f"marts.{mart}", f"snap.marts.{mart}"),
            (f"snap.marts.{mart}", f"marts.{mart}"),
        ):
            diff = con.execute(f"select count(*) from (from {a} except all from {b})").fetchone()
            assert diff == (0,), mart
        rows = con.execute(f"select count(*) from marts.{mart}").fetchone()[0]
        assert manifest["marts"][mart]["rows"] == rows
    money = con.execute(
        "select data_type from information_schema.columns where table_catalog = 'snap' "
        "and table_name = 'fct_orders' and column_name = 'total_due'"
    ).fetchone()[0]
    assert money.startswith("DECIMAL")  # exact money survives the export
    # the semantic manifest it was built with, its relations pointed at the snapshot's tables
    [(text,)] = con.execute("select manifest from snap._adw.semantic_manifest").fetchall()
    relations = {m["node_relation"]["relation_name"] for m in json.loads(text)["semantic_models"]}
    assert '"snapshot"."marts"."fct_orders"' in relations
    assert all(r.startswith('"snapshot"."marts".') for r in relations)
    con.close()


def test_every_relation_a_semantic_model_reads_is_in_the_snapshot(tmp_path):
    """The exposure `dashboard` lists what the metrics read: a semantic model over a relation
    left out of it would fail on the dashboard only."""
    manifest = ensure_manifest()
    exposure = {m.name for m in dashboard_marts(json.loads(manifest.read_text()))}
    semantic = json.loads((manifest.parent / "semantic_manifest.json").read_text())
    read = {m["node_relation"]["alias"] for m in semantic["semantic_models"]}
    read |= {
        s["node_relation"]["alias"]
        for s in semantic["project_configuration"].get("time_spines", [])
    }
    assert read and read <= exposure, read - exposure


def test_export_lists_relations_gone_from_the_warehouse_with_what_to_run(warehouse, tmp_path):
    out = tmp_path / "serving"
    export(warehouse, out)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("drop table marts.fct_web_events")
    manifest = export(warehouse, out)
    assert "fct_web_events" not in manifest["marts"]
    assert manifest["missing"]["fct_web_events"].startswith("run `adw events stream`")
    snap = Snapshot(out)
    snap.refresh()
    with pytest.raises(SnapshotError, match=r"fct_web_events.*adw events stream"):
        charts.chart(snap, "web_kpis")
    assert len(charts.chart(snap, "orders_by_status")) >= 1  # the rest still answers


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


def _orders(snap: Snapshot) -> int:
    return int(charts.chart(snap, "orders_kpis").iloc[0]["status_orders"])


def test_snapshot_reattaches_a_replaced_file_and_says_what_to_run_without_one(warehouse, tmp_path):
    out = tmp_path / "serving"
    export(warehouse, out)
    snap = Snapshot(out)
    snap.refresh()
    before = _orders(snap)
    with duckdb.connect(str(warehouse)) as con:
        con.execute("insert into marts.fct_orders select * replace (sales_order_id + 10000000 "
                    "as sales_order_id) from marts.fct_orders limit 3")  # fmt: skip
    export(warehouse, out)
    snap.refresh()
    assert _orders(snap) == before + 3
    compiled = dict(snap._sql)
    assert compiled  # the same semantic manifest: MetricFlow's SQL is kept
    (out / SNAPSHOT_DB).unlink()
    snap.refresh()
    with pytest.raises(SnapshotError, match="adw build"):
        charts.chart(snap, "orders_kpis")


def test_reads_never_fail_while_exports_replace_the_file(warehouse, tmp_path):
    out = tmp_path / "serving"
    export(warehouse, out)
    snap = Snapshot(out)
    stop = threading.Event()
    errors: list[BaseException] = []

    def exporter() -> None:
        try:
            while not stop.is_set():
                with duckdb.connect(str(warehouse)) as con:
                    con.execute("update marts.fct_orders set total_due = total_due + 1")
                export(warehouse, out)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=exporter)
    thread.start()
    seen = set()
    try:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            snap.refresh()
            seen.add(float(charts.chart(snap, "orders_kpis").iloc[0]["status_total_due"]))
    finally:
        stop.set()
        thread.join()
    assert not errors
    assert len(seen) > 1  # the reader saw several exports go by
