"""Asset checks on every replicated table, whichever backend (embedded or Airbyte) wrote it.

* ``<table>_matches_source_row_count``: the final table has as many rows as the source table.
  Fewer rows is an error (rows not replicated yet, or lost); more rows is a warning: rows hard
  deleted in the source stay in the warehouse until a full refresh (cursor-based sync cannot
  see deletes).
* ``<table>_primary_key_is_unique_and_not_null``.
"""

from collections.abc import Iterator

import dagster as dg
import psycopg
from psycopg import sql

from adw_assets.defs.replication.assets import replicated_key
from adw_assets.defs.replication.resources import ReplicationResource
from adw_assets.lib.source.catalog import TABLES, SourceTable
from adw_assets.lib.warehouse import qualified, quote, table_exists

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


def _row_count(con, conn, prefix: str, t: SourceTable, key) -> dg.AssetCheckResult:
    name = f"{t.name}_{ROW_COUNT}"
    source = conn.execute(
        sql.SQL("select count(*) from {}").format(sql.Identifier(t.schema, t.name))
    ).fetchone()[0]
    if not table_exists(con, prefix + t.schema, t.name):
        return dg.AssetCheckResult(
            asset_key=key, check_name=name, passed=False,
            metadata={"source_rows": source, "reason": "not replicated yet"},
        )  # fmt: skip
    rows = con.execute(f"select count(*) from {qualified(prefix + t.schema, t.name)}").fetchone()[0]
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
        metadata=meta,
    )


def _primary_key(con, prefix: str, t: SourceTable, key) -> dg.AssetCheckResult:
    name = f"{t.name}_{PRIMARY_KEY}"
    if not table_exists(con, prefix + t.schema, t.name):
        return dg.AssetCheckResult(
            asset_key=key, check_name=name, passed=False, metadata={"reason": "no table"}
        )
    pk = ", ".join(quote(c) for c in t.primary_key)
    nulls = " or ".join(f"{quote(c)} is null" for c in t.primary_key)
    table = qualified(prefix + t.schema, t.name)
    dupes, null_rows = con.execute(
        f"select (select count(*) from (select {pk} from {table} group by {pk} "
        f"having count(*) > 1)), (select count(*) from {table} where {nulls})"
    ).fetchone()
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=name,
        passed=dupes == 0 and null_rows == 0,
        metadata={"duplicate_keys": dupes, "null_keys": null_rows},
    )


def build_replication_checks(prefix: str) -> dg.AssetChecksDefinition:
    by_key = {replicated_key(prefix, t.schema, t.name): t for t in TABLES}

    @dg.multi_asset_check(name="replication_checks", specs=check_specs(prefix), can_subset=True)
    def replication_checks(
        context: dg.AssetCheckExecutionContext, replication: ReplicationResource
    ) -> Iterator[dg.AssetCheckResult]:
        selected = context.selected_asset_check_keys
        with (
            replication.warehouse(read_only=True) as con,
            psycopg.connect(replication.source_dsn()) as conn,
        ):
            for key, t in by_key.items():
                if dg.AssetCheckKey(key, f"{t.name}_{ROW_COUNT}") in selected:
                    yield _row_count(con, conn, prefix, t, key)
                if dg.AssetCheckKey(key, f"{t.name}_{PRIMARY_KEY}") in selected:
                    yield _primary_key(con, prefix, t, key)

    return replication_checks
