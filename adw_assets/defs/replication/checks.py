"""Asset checks on every replicated table, whichever backend wrote it and whichever warehouse.

* ``<table>_matches_source_row_count``: the final table has as many rows as the source table.
  Fewer rows is an error (rows not replicated yet, or lost); more rows is a warning: rows hard
  deleted in the source stay in the warehouse until a full refresh (cursor-based sync cannot
  see deletes).
* ``<table>_primary_key_is_unique_and_not_null``.
"""

from collections.abc import Iterator
from datetime import datetime

import dagster as dg
import psycopg
from psycopg import sql

from adw_assets.defs.replication.resources import replicated_key
from adw_assets.defs.source.resources import SourceResource
from adw_assets.defs.warehouse.resources import POOL, WarehouseResource
from adw_assets.lib.secrets import redacted_errors
from adw_assets.lib.source.catalog import TABLES, SourceTable
from adw_assets.lib.warehouse.interface import Warehouse

ROW_COUNT = "matches_source_row_count"
PRIMARY_KEY = "primary_key_is_unique_and_not_null"


def check_specs(prefix: str) -> list[dg.AssetCheckSpec]:
    specs = []
    for t in TABLES:
        key = replicated_key(prefix, t.schema, t.name)
        specs.append(
            dg.AssetCheckSpec(
                f"{t.name}_{ROW_COUNT}",
                asset=key,
                description=f"Row count equals {t.qualified} in the source (a surplus, explained "
                "by hard deletes, only warns).",
            )
        )
        specs.append(
            dg.AssetCheckSpec(
                f"{t.name}_{PRIMARY_KEY}",
                asset=key,
                description=f"({', '.join(t.primary_key)}) is unique and never null.",
            )
        )
    return specs


def row_count_result(wh: Warehouse, conn, prefix: str, t: SourceTable, key):
    name, dataset = f"{t.name}_{ROW_COUNT}", prefix + t.schema
    source = conn.execute(
        sql.SQL("select count(*) from {}").format(sql.Identifier(t.schema, t.name))
    ).fetchone()[0]
    if not wh.exists(dataset, t.name):
        return dg.AssetCheckResult(
            asset_key=key, check_name=name, passed=False,
            metadata={"source_rows": source, "reason": "not replicated yet"},
        )  # fmt: skip
    rows = wh.rows(f"select count(*) from {wh.table(dataset, t.name)}")[0][0]
    meta = {"source_rows": source, "warehouse_rows": rows, "difference": rows - source}
    if rows > source:
        meta["explanation"] = (
            f"{rows - source} row(s) deleted in the source are still in the warehouse: "
            "cursor-based replication cannot see hard deletes; a full refresh removes them."
        )
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=name,
        passed=rows == source,
        severity=dg.AssetCheckSeverity.WARN if rows > source else dg.AssetCheckSeverity.ERROR,
        metadata={**meta, **_metadata(wh.table_metadata(dataset, t.name))},
    )


def _metadata(values: dict) -> dict:
    return {
        k: dg.MetadataValue.timestamp(v) if isinstance(v, datetime) else v
        for k, v in values.items()
    }


def primary_key_result(wh: Warehouse, prefix: str, t: SourceTable, key):
    name, dataset = f"{t.name}_{PRIMARY_KEY}", prefix + t.schema
    if not wh.exists(dataset, t.name):
        return dg.AssetCheckResult(
            asset_key=key, check_name=name, passed=False, metadata={"reason": "no table"}
        )
    pk = ", ".join(wh.quote(c) for c in t.primary_key)
    nulls = " or ".join(f"{wh.quote(c)} is null" for c in t.primary_key)
    table = wh.table(dataset, t.name)
    [(dupes, null_rows)] = wh.rows(
        f"select (select count(*) from (select {pk} from {table} group by {pk} "
        f"having count(*) > 1)), (select count(*) from {table} where {nulls})"
    )
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=name,
        passed=dupes == 0 and null_rows == 0,
        metadata={"duplicate_keys": dupes, "null_keys": null_rows},
    )


def build_replication_checks(prefix: str) -> dg.AssetChecksDefinition:
    @dg.multi_asset_check(
        name="replication_checks", specs=check_specs(prefix), can_subset=True, pool=POOL
    )
    def replication_checks(
        context: dg.AssetCheckExecutionContext,
        source: SourceResource,
        warehouse: WarehouseResource,
    ) -> Iterator[dg.AssetCheckResult]:
        selected = context.selected_asset_check_keys
        dsn = source.replication_dsn()
        with redacted_errors(dsn), warehouse.open() as wh, psycopg.connect(dsn) as conn:
            for t in TABLES:
                key = replicated_key(prefix, t.schema, t.name)
                if dg.AssetCheckKey(key, f"{t.name}_{ROW_COUNT}") in selected:
                    yield row_count_result(wh, conn, prefix, t, key)
                if dg.AssetCheckKey(key, f"{t.name}_{PRIMARY_KEY}") in selected:
                    yield primary_key_result(wh, prefix, t, key)

    return replication_checks
