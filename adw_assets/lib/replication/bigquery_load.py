"""Load one stream into BigQuery in the Destinations v2 layout (``ADW_WAREHOUSE=bigquery``).

Per stream sync:

1. ``prepare``: the raw history and final tables exist (created partitioned by day of
   ``_airbyte_extracted_at``, clustered by primary key, as Airbyte creates them); new source
   columns are added, widened types altered (DDL: outside any transaction, and idempotent);
2. ``write``: each batch read from PostgreSQL is loaded (a Parquet load job, free of charge)
   into a staging table of this sync, ``airbyte_internal._adw_stage_<id>``;
3. ``finish``: count what the commit will insert and update (incremental: the rows to apply,
   in a second staging table);
4. ``commit``: one multi-statement transaction appends the staged rows to the raw history,
   folds them into the final table (MERGE by primary key: the greatest cursor wins, a tie goes
   to the latest extraction, an identical row is left alone; a full sync replaces the table's
   rows) and MERGEs the stream's state row. Nothing is visible before the COMMIT: a kill at
   any point leaves the old data with the old state, and the next run reads the rows again.
   A commit BigQuery aborts for a concurrent update (another stream's commit of the state
   table) is retried.

The staging tables expire after a day, so a killed run leaves nothing behind for long.

CDC (``ADW_REPLICATION_METHOD=cdc``, :mod:`cdc`): ``_ab_cdc_lsn`` orders the versions, a
record with ``_ab_cdc_deleted_at`` deletes its row in the MERGE (the raw history keeps it), and
the stream's applied LSN (``_adw_cdc_state``) is MERGEd in the same transaction.
"""

from __future__ import annotations

import contextlib
import io
import re
import uuid
from datetime import UTC, datetime

import pyarrow as pa
import pyarrow.compute as pc

from adw_assets.lib.replication.catalog import Column
from adw_assets.lib.replication.destination import LoadPlan
from adw_assets.lib.replication.layout import (
    AIRBYTE_COLUMNS,
    CDC_CURSOR,
    CDC_DELETED_AT,
    CDC_SLOT,
    SchemaChangeError,
    airbyte_meta,
    column_changes,
    dropped_columns,
    raw_table_name,
)
from adw_assets.lib.replication.state import (
    CDC_STATE_TABLE,
    COLUMNS,
    INTERNAL_SCHEMA,
    STATE_TABLE,
    StreamState,
)
from adw_assets.lib.retry import retrying
from adw_assets.lib.warehouse import bigquery as bq

AIRBYTE_TYPES = dict(zip(AIRBYTE_COLUMNS, ("STRING", "TIMESTAMP", "JSON", "INT64"), strict=True))
RAW_DDL = (
    "_airbyte_raw_id STRING NOT NULL, _airbyte_extracted_at TIMESTAMP NOT NULL, "
    "_airbyte_loaded_at TIMESTAMP, _airbyte_data STRING NOT NULL, _airbyte_meta STRING, "
    "_airbyte_generation_id INT64"
)
CLUSTER_MAX = 4  # BigQuery clusters by at most four columns
STAGE_EXPIRY = "timestamp_add(current_timestamp(), interval 1 day)"
CONFLICT_RETRIES = 6
"""Commits retried when BigQuery aborts a transaction for a concurrent update (of the shared
state table by another stream's commit)."""

# type changes BigQuery's ALTER COLUMN SET DATA TYPE allows (every value still fits)
_WIDENINGS = {("INT64", "NUMERIC"), ("INT64", "BIGNUMERIC"), ("NUMERIC", "BIGNUMERIC")}


def bq_type(column: Column) -> str:
    """The final-table type of a source column, as Airbyte's BigQuery destination types it."""
    return bq_type_of(column.duck_type)


def bq_type_of(duck: str) -> str:
    """The BigQuery type of a DuckDB type (the catalog's ``duck_type``)."""
    if duck in ("SMALLINT", "INTEGER", "BIGINT"):
        return "INT64"
    if duck in ("FLOAT", "DOUBLE"):
        return "FLOAT64"
    m = re.fullmatch(r"DECIMAL\((\d+),(\d+)\)", duck)
    if m:
        p, s = int(m.group(1)), int(m.group(2))
        return "NUMERIC" if p - s <= 29 and s <= 9 else "BIGNUMERIC"
    return {
        "BOOLEAN": "BOOL",
        "DATE": "DATE",
        "TIMESTAMP": "DATETIME",  # without time zone: a civil date and time
        "TIMESTAMP WITH TIME ZONE": "TIMESTAMP",
        "TIME": "TIME",
    }.get(duck, "STRING")


def _load_type(column: Column) -> str:
    """The staging column type: what the Parquet batch loads as (TIME arrives as text)."""
    return "STRING" if bq_type(column) == "TIME" else bq_type(column)


def _widens(old: str, new: str) -> bool:
    return (old, new) in _WIDENINGS


def _is_conflict(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "concurrent update" in text or "transaction is aborted" in text


class BigQueryStreamLoad:
    """Stages the batches of one stream sync and commits them with its state in one
    transaction (a :class:`StreamLoad`)."""

    def __init__(self, client, plan: LoadPlan) -> None:
        stream, namespace = plan.stream, plan.namespace
        self.client, self.stream, self.namespace = client, stream, namespace
        self.project = project = client.project
        self.final = bq.table_ref(project, namespace, stream.table)
        self.raw = bq.table_ref(project, INTERNAL_SCHEMA, raw_table_name(namespace, stream.table))
        self.stage_name = f"_adw_stage_{namespace}_{stream.table}_{uuid.uuid4().hex[:12]}"
        self.stage = bq.table_ref(project, INTERNAL_SCHEMA, self.stage_name)
        self.apply = bq.table_ref(project, INTERNAL_SCHEMA, self.stage_name + "_apply")
        self.generation, self.full, self.raw_history = plan.generation, plan.full, plan.raw_history
        self.meta = airbyte_meta(plan.sync_id)
        self.salt = uuid.uuid4().hex
        self.final_types: dict[str, str] = {}
        self.dropped: list[str] = []
        self.cursor_field, self.cdc = plan.cursor_field, plan.cursor_field == CDC_CURSOR
        self.rows_read = self.inserted = self.updated = self.deleted = 0
        self.extracted_at = datetime.now(UTC)
        self.state: StreamState | None = None

    # -- schema -----------------------------------------------------------------------

    def _create_final(self) -> None:
        cols = [f"{bq.quote(n)} {t}" for n, t in AIRBYTE_TYPES.items()]
        cols += [f"{bq.quote(c.name)} {bq_type(c)}" for c in self.stream.columns]
        cluster = ", ".join(
            bq.quote(c) for c in [*self.stream.primary_key, "_airbyte_extracted_at"][:CLUSTER_MAX]
        )
        bq.run(
            self.client,
            f"create table {self.final} ({', '.join(cols)}) "
            f"partition by timestamp_trunc(_airbyte_extracted_at, day) cluster by {cluster}",
        )

    def prepare(self) -> list[str]:
        """Create or evolve the tables; return the schema changes applied (for metadata)."""
        client, changes = self.client, []
        if self.raw_history:
            bq.run(
                client,
                f"create table if not exists {self.raw} ({RAW_DDL}) partition by "
                "timestamp_trunc(_airbyte_extracted_at, day) cluster by _airbyte_loaded_at",
            )
        if not bq.table_exists(client, self.namespace, self.stream.table):
            self.full = True
            self._create_final()
        current = bq.table_columns(client, self.namespace, self.stream.table)
        where = f"BigQuery {self.namespace}.{self.stream.table}"
        try:
            planned = column_changes(self.stream, where, current, bq_type, _widens)
        except SchemaChangeError:
            if not self.full:
                raise
            # rebuild: forget the state first, so a kill during the rebuild re-runs it in full
            self._forget_state()
            bq.run(client, f"drop table if exists {self.final}")
            self._create_final()
            changes.append("recreated the table (incompatible column types, full refresh)")
            planned = []
        for change in planned:
            column, new = bq.quote(change.column.name), change.new
            if change.old is None:
                sql = f"alter table {self.final} add column if not exists {column} {new}"
            else:
                sql = f"alter table {self.final} alter column {column} set data type {new}"
            bq.run(client, sql)
            changes.append(change.describe())
        self.final_types = bq.table_columns(client, self.namespace, self.stream.table)
        self.dropped = dropped_columns(self.stream, self.final_types)
        stage_cols = [f"{bq.quote(c.name)} {_load_type(c)}" for c in self.stream.columns]
        bq.run(
            client,
            f"create or replace table {self.stage} (_adw_seq INT64 NOT NULL, "
            f"{', '.join(stage_cols)}) options (expiration_timestamp = {STAGE_EXPIRY})",
        )
        return changes

    def _forget_state(self) -> None:
        """Delete the stream's state: its sync starts over as a first one (generation 0)."""
        state = bq.table_ref(self.project, INTERNAL_SCHEMA, STATE_TABLE)
        bq.run(
            self.client,
            f"delete from {state} where namespace = ? and name = ?",
            [(None, "STRING", self.namespace), (None, "STRING", self.stream.table)],
        )
        self.generation = 0

    # -- data -------------------------------------------------------------------------

    def write(self, batch: pa.Table, extracted_at: datetime) -> None:
        """Load one batch into the staging table (its rows numbered in read order); the rows
        of a sync are stamped with the first batch's extraction time."""
        if batch.num_rows == 0:
            return
        if not self.rows_read:
            self.extracted_at = extracted_at
        import pyarrow.parquet as pq  # here: a DuckDB-only process never needs Parquet
        from google.cloud import bigquery

        seq = pa.array(range(self.rows_read, self.rows_read + batch.num_rows), pa.int64())
        arrays, fields = [seq], [pa.field("_adw_seq", pa.int64())]
        for col in self.stream.columns:
            arr = batch[col.name]
            if bq_type(col) == "TIMESTAMP":  # UTC instants (the reader renders them in UTC)
                arr = pc.assume_timezone(arr, "UTC")
            arrays.append(arr)
            fields.append(pa.field(col.name, arr.type))
        buf = io.BytesIO()
        pq.write_table(pa.Table.from_arrays(arrays, schema=pa.schema(fields)), buf)
        buf.seek(0)
        schema = [bigquery.SchemaField("_adw_seq", "INT64")]
        schema += [bigquery.SchemaField(c.name, _load_type(c)) for c in self.stream.columns]
        config = bigquery.LoadJobConfig(
            source_format=bigquery.SourceFormat.PARQUET,
            write_disposition=bigquery.WriteDisposition.WRITE_APPEND,
            schema=schema,
        )
        job = self.client.load_table_from_file(
            buf, bq.table_id(self.project, INTERNAL_SCHEMA, self.stage_name), job_config=config
        )
        job.result(timeout=bq.QUERY_TIMEOUT_SECONDS)
        self.rows_read += batch.num_rows

    # -- commit -----------------------------------------------------------------------

    def _values(self, alias: str) -> list[str]:
        """The staged columns cast to the final table's types."""
        out = []
        for c in self.stream.columns:
            target = self.final_types.get(c.name, bq_type(c))
            out.append(f"cast({alias}.{bq.quote(c.name)} as {target}) as {bq.quote(c.name)}")
        return out

    def _raw_id(self, alias: str) -> str:
        """A uuid-formatted id from this sync's salt and the row's sequence number: the same
        expression in the raw history and the final table, so a row's ids agree."""
        h = f"to_hex(md5(concat('{self.salt}', cast({alias}._adw_seq as string))))"
        parts = ", ".join(
            f"substr({h}, {a}, {n})" for a, n in ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))
        )
        return f"format('%s-%s-%s-%s-%s', {parts})"

    def _deduplicated(self) -> str:
        """One row per primary key: the greatest cursor, then the latest read."""
        pk = ", ".join(bq.quote(c) for c in self.stream.primary_key)
        return (
            f"select {self._raw_id('s')} as _airbyte_raw_id, {', '.join(self._values('s'))} "
            f"from {self.stage} s qualify row_number() over (partition by {pk} order by "
            f"s.{bq.quote(self.cursor_field)} desc nulls last, s._adw_seq desc) = 1"
        )

    def finish(self) -> None:
        """Count what the commit will insert and update (incremental: build the apply table)."""
        if not self.rows_read:
            return
        if self.full:
            self.inserted = int(
                bq.run(self.client, f"select count(*) from ({self._deduplicated()})")[0][0]
            )
            return
        pk = self.stream.primary_key
        on = " and ".join(f"f.{bq.quote(c)} = s.{bq.quote(c)}" for c in pk)
        cursor = bq.quote(self.cursor_field)
        same = " and ".join(
            [
                f"s.{bq.quote(c.name)} is not distinct from f.{bq.quote(c.name)}"
                for c in self.stream.columns
            ]
            + [f"f.{bq.quote(d)} is null" for d in self.dropped]
        )
        bq.run(
            self.client,
            f"create or replace table {self.apply} options (expiration_timestamp = "
            f"{STAGE_EXPIRY}) as select s.*, f.{bq.quote(pk[0])} is not null as _adw_existed "
            f"from ({self._deduplicated()}) s left join {self.final} f on {on} "
            f"where f.{bq.quote(pk[0])} is null or ((s.{cursor} >= f.{cursor} or f.{cursor} "
            f"is null) and not ({same}))",
        )
        gone = f"{bq.quote(CDC_DELETED_AT)} is not null" if self.cdc else "false"
        existed, new, deleted = bq.run(
            self.client,
            f"select countif(_adw_existed and not {gone}), countif(not _adw_existed and not "
            f"{gone}), countif(_adw_existed and {gone}) from {self.apply}",
        )[0]
        self.inserted, self.updated, self.deleted = (
            int(new or 0),
            int(existed or 0),
            int(deleted or 0),
        )

    @property
    def changed(self) -> bool:
        """Whether the commit writes rows: the raw history appends every record read."""
        return bool(
            self.inserted or self.updated or self.deleted or (self.raw_history and self.rows_read)
        )

    def write_state(self, state: StreamState) -> None:
        """The state row the commit writes (in its transaction)."""
        self.state = state

    def commit(self) -> None:
        """Raw history + final table + state row, in one multi-statement transaction, retried
        while BigQuery aborts it for a concurrent update; then drop the staging tables."""
        policy = retrying(_is_conflict, first_wait=0.5, max_wait=8.0, attempts=CONFLICT_RETRIES + 1)
        policy(bq.run, self.client, self._script())
        self._drop_staging()

    def rollback(self) -> None:
        """Nothing was committed: only the staging tables are left, and dropped."""
        self._drop_staging()

    def _drop_staging(self) -> None:
        """Drop this sync's staging tables (they would expire within a day anyway)."""
        for table in (self.stage, self.apply):
            with contextlib.suppress(Exception):  # best effort: the expiration removes them
                bq.run(self.client, f"drop table if exists {table}")

    def _script(self) -> str:
        ts = f"timestamp '{self.extracted_at.isoformat(sep=' ')}'"
        meta = f"parse_json('{self.meta}')"
        airbyte = [ts, meta, str(self.generation)]
        names = [bq.quote(c.name) for c in self.stream.columns]
        statements = []
        if self.rows_read and self.raw_history:
            statements.append(self._raw_insert(ts))
        if self.full:
            statements.append(f"delete from {self.final} where true")
            if self.rows_read:
                statements.append(
                    f"insert into {self.final} ({', '.join(AIRBYTE_COLUMNS)}, {', '.join(names)}) "
                    f"select _airbyte_raw_id, {', '.join(airbyte)}, {', '.join(names)} "
                    f"from ({self._deduplicated()})"
                    + (f" where {bq.quote(CDC_DELETED_AT)} is null" if self.cdc else "")
                )
        elif self.inserted or self.updated or self.deleted:
            statements.append(self._merge(names, airbyte))
        statements.append(self._state_merge(self.state))
        if self.state.cdc_lsn is not None:
            statements.append(self._cdc_state_merge(self.state))
        return "begin transaction;\n" + ";\n".join(statements) + ";\ncommit transaction;"

    def _raw_insert(self, ts: str) -> str:
        # each field named explicitly: the emulator leaves the names of struct(s.a) empty
        data = ", ".join(f"s.{bq.quote(c.name)} as {bq.quote(c.name)}" for c in self.stream.columns)
        return (
            f"insert into {self.raw} (_airbyte_raw_id, _airbyte_extracted_at, _airbyte_loaded_at, "
            f"_airbyte_data, _airbyte_meta, _airbyte_generation_id) select {self._raw_id('s')}, "
            f"{ts}, current_timestamp(), to_json_string(struct({data})), '{self.meta}', "
            f"{self.generation} from {self.stage} s"
        )

    def _merge(self, names: list[str], airbyte: list[str]) -> str:
        on = " and ".join(f"f.{bq.quote(c)} = a.{bq.quote(c)}" for c in self.stream.primary_key)
        sets = ["_airbyte_raw_id = a._airbyte_raw_id"]
        sets += [f"{k} = {v}" for k, v in zip(list(AIRBYTE_COLUMNS)[1:], airbyte, strict=True)]
        sets += [f"{n} = a.{n}" for n in names]
        sets += [f"{bq.quote(d)} = null" for d in self.dropped]
        # CDC: a delete record deletes its row; one for a row not held inserts nothing
        deleted = f"a.{bq.quote(CDC_DELETED_AT)} is not null"
        delete, kept = (f"when matched and {deleted} then delete ", f" and not {deleted}")
        if not self.cdc:
            delete = kept = ""
        return (
            f"merge {self.final} f using {self.apply} a on {on} {delete}"
            f"when matched then update set {', '.join(sets)} "
            f"when not matched{kept} then insert ({', '.join(AIRBYTE_COLUMNS)}, "
            f"{', '.join(names)}) values (a._airbyte_raw_id, {', '.join(airbyte)}, "
            + ", ".join(f"a.{n}" for n in names)
            + ")"
        )

    def _state_merge(self, state: StreamState) -> str:
        table = bq.table_ref(self.project, INTERNAL_SCHEMA, STATE_TABLE)
        names = [n for n, _ in COLUMNS if n != "updated_at"]  # updated_at: the commit's time
        values = ", ".join(f"{_literal(getattr(state, n))} as {n}" for n in names)
        cols = names[2:]  # the key is (namespace, name)
        return (
            f"merge {table} t using (select {values}) s on t.namespace = s.namespace and "
            f"t.name = s.name when matched then update set "
            f"{', '.join(f'{c} = s.{c}' for c in cols)}, updated_at = current_timestamp() "
            f"when not matched then insert ({', '.join(names)}, updated_at) "
            f"values ({', '.join(f's.{c}' for c in names)}, current_timestamp())"
        )

    def _cdc_state_merge(self, state: StreamState) -> str:
        """CDC: the LSN the stream's changes are applied up to, in the data's transaction."""
        table = bq.table_ref(self.project, INTERNAL_SCHEMA, CDC_STATE_TABLE)
        key = f"{_literal(state.namespace)} as namespace, {_literal(state.name)} as name"
        lsn, slot = _literal(state.cdc_lsn), _literal(CDC_SLOT)
        return (
            f"merge {table} t using (select {key}) s on t.namespace = s.namespace and "
            f"t.name = s.name when matched then update set slot = {slot}, lsn = {lsn}, "
            "updated_at = current_timestamp() when not matched then insert (namespace, name, "
            f"slot, lsn, updated_at) values (s.namespace, s.name, {slot}, {lsn}, "
            "current_timestamp())"
        )


def _literal(value) -> str:
    """A state value as a BigQuery literal (a cursor is a DATETIME, in UTC)."""
    if value is None:
        return "null"
    if isinstance(value, datetime):
        return f"datetime '{value.isoformat(sep=' ')}'"
    if isinstance(value, str):
        return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"
    return str(int(value))
