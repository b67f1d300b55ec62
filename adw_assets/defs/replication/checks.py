"""Asset checks on every replicated table, whichever backend wrote it and whichever warehouse.

* ``<table>_matches_source_row_count``: the final table has as many rows as the source table.
  Fewer rows is an error (rows not replicated yet, or lost); more rows is a warning: rows hard
  deleted in the source stay in the warehouse until a full refresh (cursor-based sync cannot
  see deletes).
* ``<table>_primary_key_is_unique_and_not_null``.
* ``<table>_cdc_slot_lag`` (``ADW_REPLICATION_METHOD=cdc`` only): how far the replication
  slot the table is read through is behind the source: the write-ahead log it retains and how
  long ago the oldest change not yet applied committed. Over ``ADW_REPLICATION_CDC_LAG_WARN_MB``
  or ``ADW_REPLICATION_CDC_LAG_WARN_SECONDS`` it warns; a dropped or invalidated slot fails,
  naming the recovery (a resync).
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
SLOT_LAG = "cdc_slot_lag"


def check_specs(prefix: str, cdc: bool = False) -> list[dg.AssetCheckSpec]:
    specs = []
    for t in TABLES:
        key = replicated_key(prefix, t.schema, t.name)
        if cdc:
            specs.append(
                dg.AssetCheckSpec(
                    f"{t.name}_{SLOT_LAG}",
                    asset=key,
                    description="The CDC replication slot's lag: WAL retained and seconds "
                    "behind the source (warns over ADW_REPLICATION_CDC_LAG_WARN_MB / _SECONDS; "
                    "a dropped or invalidated slot fails).",
                )
            )
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


def slot_lag_results(selected, prefix: str) -> Iterator[dg.AssetCheckResult]:
    """The slot-lag check of every selected table: the slot is shared, read once."""
    from adw_assets.errors import SourceError
    from adw_assets.lib.replication import cdc_slot
    from adw_assets.lib.source.server import cdc_dsn
    from adw_assets.settings import get_settings

    wanted = [
        (t, key)
        for t in TABLES
        if dg.AssetCheckKey(key := replicated_key(prefix, t.schema, t.name), f"{t.name}_{SLOT_LAG}")
        in selected
    ]
    if not wanted:
        return
    settings = get_settings()
    dsn = cdc_dsn(settings)
    warn_bytes = settings.replication_cdc_lag_warn_mb * 2**20
    warn_seconds = settings.replication_cdc_lag_warn_seconds
    with redacted_errors(dsn), psycopg.connect(dsn, autocommit=True) as conn:
        try:
            lag, error = cdc_slot.lag(conn), None
        except SourceError as exc:
            lag, error = None, str(exc)
    for t, key in wanted:
        name = f"{t.name}_{SLOT_LAG}"
        if lag is None:
            yield dg.AssetCheckResult(
                asset_key=key, check_name=name, passed=False,
                severity=dg.AssetCheckSeverity.ERROR, description=error,
                metadata={"error": error},
            )  # fmt: skip
            continue
        over = []
        if lag.retained_bytes > warn_bytes:
            over.append(f"the slot retains {lag.retained_bytes / 2**20:,.0f} MiB of WAL")
        if lag.seconds_behind > warn_seconds:
            over.append(f"the oldest change not applied committed {lag.seconds_behind:,.0f} s ago")
        metadata = {
            "retained_wal_bytes": lag.retained_bytes,
            "behind_wal_bytes": lag.behind_bytes,
            "seconds_behind": round(lag.seconds_behind, 3),
            "warn_wal_bytes": warn_bytes,
            "warn_seconds": warn_seconds,
        }
        if lag.oldest_pending is not None:
            metadata["oldest_pending_commit"] = dg.MetadataValue.timestamp(lag.oldest_pending)
        yield dg.AssetCheckResult(
            asset_key=key,
            check_name=name,
            passed=not over,
            severity=dg.AssetCheckSeverity.WARN,
            description=(
                "; ".join(over) + ": run `adw replicate` (or keep `adw replicate --follow` "
                "running) to catch up"
            )
            if over
            else None,
            metadata=metadata,
        )


def build_replication_checks(prefix: str, cdc: bool = False) -> dg.AssetChecksDefinition:
    @dg.multi_asset_check(
        name="replication_checks", specs=check_specs(prefix, cdc), can_subset=True, pool=POOL
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
        if cdc:
            yield from slot_lag_results(selected, prefix)

    return replication_checks
