"""Load one stream into DuckDB in the Airbyte Destinations v2 layout, in one transaction.

* final table ``<namespace>.<table>``: one row per primary key; the greatest cursor wins,
  ties go to the latest extraction (a re-read identical row is left as it is);
* raw history ``airbyte_internal.<namespace>_raw__stream_<table>``: every version of a record
  read (a row read again exactly as held is not appended again), its ``_airbyte_data`` a typed
  STRUCT of the record (``to_json(_airbyte_data)`` is Airbyte's JSON).

A full sync (first sync, or full refresh) bulk-inserts each batch into staging tables, as
Airbyte's overwrite syncs do (``<table>_airbyte_tmp`` beside the final table and the raw
history), **one transaction per batch**: DuckDB holds memory for every statement of an open
transaction until it commits, so a full sync in one transaction grew with the table (2.9 GB at
12M order lines). The last transaction swaps the staging tables in (the final table renamed,
the raw history renamed when there is none yet) and writes the state: a kill before it leaves
the old tables and state as they were, and the next sync of the stream drops the staging tables
left behind. A full refresh appends its raw records to an existing history directly, as
Airbyte does (a copy at the swap cost 17 s of 105 s for 12M order lines): they carry the
refresh's generation, beyond the state's until the swap commits, so the next sync of the stream
deletes those a killed or failed refresh left (:meth:`DuckDBStreamLoad.drop_orphans`: whole row
groups at the history's end, 0.1 s for 6M rows). An incremental sync folds each batch in by
primary key (delete + insert), in one transaction. Raw ids are
random UUIDs made in numpy and carried on the Arrow batch, so the raw and final inserts read the
batch directly and agree without a staging copy.

``_airbyte_data`` is stored as a STRUCT rather than JSON text: building JSON costs more than
the rest of a full sync together (0.6 s of CPU for the 233k AdventureWorks rows), a STRUCT is
written column by column like the final table, and it reads back as JSON with ``to_json``.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable
from datetime import datetime
from operator import attrgetter

import duckdb
import numpy as np
import pyarrow as pa

from adw_assets.lib.replication import faults
from adw_assets.lib.replication.catalog import is_widening
from adw_assets.lib.replication.destination import LoadPlan
from adw_assets.lib.replication.layout import (
    AIRBYTE_COLUMNS,
    CDC_CURSOR,
    CDC_DELETED_AT,
    CDC_SLOT,
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
from adw_assets.lib.warehouse import qualified, quote

AIRBYTE_TYPES = dict(
    zip(AIRBYTE_COLUMNS, ("UUID", "TIMESTAMP WITH TIME ZONE", "JSON", "BIGINT"), strict=True)
)
RAW_ID = "_airbyte_raw_id"
_SEQ = "_adw_seq"
STAGING_SUFFIX = "_airbyte_tmp"
"""A full sync's staging tables: ``<final table>_airbyte_tmp`` (in the final table's schema,
so that the swap is a rename) and ``airbyte_internal.<raw table>_airbyte_tmp``, the suffix of
Airbyte's Destinations v2 for the table an overwrite sync writes before swapping it in."""
COMMIT_LOCK = threading.Lock()
"""One commit at a time in this process. Two workers' commits at once crashed DuckDB 1.5.6 once
(segmentation fault, scale 10: one worker committing its incremental merge, the other its
staging batches; DuckDB 1.5 lets commits run during another commit's checkpoint). Not
reproduced since; the workers' cursors are DuckDB's documented way to share one database, so
the lock is the guard: a commit waits for another, the workers' reads and inserts do not."""
Tables = dict[tuple[str, str], dict[str, str]]
"""``(schema, table) -> {column: type}``: the warehouse catalog when the run started."""

DELETE_ROOM_PER_ROW = 32
DELETE_ROOM_PER_DELETE = 272 * 1024
"""The memory limit an incremental merge asks for beyond ``ADW_REPLICATION_MEMORY_LIMIT``
(:meth:`DuckDBStreamLoad.make_room`): DuckDB 2.0 holds, for the rows a ``DELETE`` removed,
a 256 KiB block for every row group it touched and 16 KiB per 2,048-row vector, from the
statement to the next checkpoint (the commit does not give it back). So at most 272 KiB per
deleted row, and at most 24 bytes per row of the table once the deletes are spread over all of
it, as updates of old rows are: 32 bytes leaves room for the row groups that commits closed
short of 16,384 rows. Measured on scale 100's order lines (12.1M rows in 802 row groups): 100
deleted rows held 29 MB, 5,000 held 198 MB, 20,000 held 205 MB."""


def raw_ids(n: int) -> pa.Array:
    """``n`` random version-4 UUIDs, built in numpy as Arrow's ``uuid`` type (DuckDB reads it
    as UUID: 16 bytes, where a UUID as text costs more to store than the rest of the row)."""
    # os.urandom, not a shared numpy Generator: streams run on several threads
    raw = np.frombuffer(bytearray(os.urandom(16 * n)), dtype=np.uint8).reshape(n, 16)
    raw[:, 6] = (raw[:, 6] & 0x0F) | 0x40
    raw[:, 8] = (raw[:, 8] & 0x3F) | 0x80
    storage = pa.FixedSizeBinaryArray.from_buffers(
        pa.binary(16), n, [None, pa.py_buffer(raw.tobytes())]
    )
    return pa.ExtensionArray.from_storage(pa.uuid(), storage)


class DuckDBStreamLoad:
    """One stream's sync in one DuckDB transaction (a :class:`StreamLoad`), on a cursor of its
    own: opened with ``begin transaction``, ended (and the cursor closed) by :meth:`commit` or
    :meth:`rollback`."""

    def __init__(self, con: duckdb.DuckDBPyConnection, plan: LoadPlan, tables: Tables,
                 staging_rows: int, final_rows: int,
                 add_room: Callable[[int], None]) -> None:  # fmt: skip
        con.execute("begin transaction")
        self.final_rows, self.add_room = final_rows, add_room
        """The final table's rows when the run started, and what raises DuckDB's memory limit
        by so many bytes for the rest of the run (:class:`~.duckdb_destination.MergeMemory`)."""
        self.deletes = self.room = 0
        self.con, self.stream, self.namespace = con, plan.stream, plan.namespace
        self.final = qualified(plan.namespace, plan.stream.table)
        raw = raw_table_name(plan.namespace, plan.stream.table)
        self.raw = qualified(INTERNAL_SCHEMA, raw)
        self.final_tmp = qualified(plan.namespace, plan.stream.table + STAGING_SUFFIX)
        self.raw_tmp = qualified(INTERNAL_SCHEMA, raw + STAGING_SUFFIX)
        self.raw_swap = ""
        """How the staged raw records join the history: ``rename`` (no history yet),
        ``append``, ``archive`` (the old history renamed first), or ``direct`` (appended to the
        history as they come, by a full refresh); set by :meth:`prepare`."""
        self.raw_into = self.raw_tmp
        """Where a full sync appends its raw records: the staging table, or the history."""
        self.raw_widen: dict[str, str] | None = None
        self.json_history = False
        self.pause = faults.from_settings()
        self.staged, self.staging_rows = 0, staging_rows
        """Rows of a full sync written in the open transaction; it commits at ``staging_rows``
        (``ADW_REPLICATION_STAGING_ROWS``). Not every 100,000-row batch: DuckDB 1.5 then left
        much of the data to the run's last checkpoint (scale 10: 5 s and 100 MB written at
        the end, 300 MB more memory); every 250,000 rows it did not. Under DuckDB 2.0, every
        125,000 rows (three 50,000-row batches) costs nothing at scales 1 and 10 and holds
        less at scale 100 (docs/performance.md)."""
        self.generation, self.full, self.raw_history = plan.generation, plan.full, plan.raw_history
        self.refresh = plan.full and plan.generation > 0
        """A full refresh of a stream with a state: its generation is beyond the state's, so its
        raw records can go straight into the history (:meth:`drop_orphans`)."""
        self.tables = tables
        """The warehouse's tables and their columns when the run started: one catalog query
        per run, not a few per stream."""
        self.meta = airbyte_meta(plan.sync_id)
        self.cursor_field = plan.cursor_field
        self.deleted = 0
        self.dropped: list[str] = []
        self.raw_fields: list[str] = []
        self.rows_read = self.inserted = self.updated = self.raw_appended = 0

    # -- schema -----------------------------------------------------------------------

    def prepare(self) -> list[str]:
        """Create or evolve the tables; return the schema changes applied (for metadata)."""
        con, changes = self.con, []
        if self.drop_orphans():
            self._commit()  # even when this sync rolls back
            con.execute("begin transaction")
        exists = (self.namespace, self.stream.table) in self.tables
        if self.full or not exists:
            self.full = True
            cols = [f"{quote(n)} {t}" for n, t in AIRBYTE_TYPES.items()]
            cols += [f"{quote(c.name)} {c.duck_type}" for c in self.stream.columns]
            self._drop_staging()  # left by a killed or failed full sync
            con.execute(f"create table {self.final_tmp} ({', '.join(cols)})")
            self._prepare_raw()
            return changes
        staged = self.stream.table + STAGING_SUFFIX
        if (self.namespace, staged) in self.tables:  # a killed full sync's: not its data
            self._drop_staging()
            self._commit()  # even when this sync rolls back
            con.execute("begin transaction")
        current = self.tables[(self.namespace, self.stream.table)]
        where = f"DuckDB {self.namespace}.{self.stream.table}"
        duck_type = attrgetter("duck_type")
        for change in column_changes(self.stream, where, current, duck_type, is_widening):
            column, new = quote(change.column.name), change.new
            if change.old is None:
                con.execute(f"alter table {self.final} add column {column} {new}")
            else:
                con.execute(f"alter table {self.final} alter column {column} set data type {new}")
            changes.append(change.describe())
        self.dropped = dropped_columns(self.stream, current)
        self._prepare_raw()
        return changes

    def _prepare_raw(self) -> None:
        """Create the raw history, or evolve its ``_airbyte_data`` STRUCT: new columns become
        new fields, widened ones are widened, dropped ones stay (null from then on)."""
        if not self.raw_history:
            return
        con, table = self.con, raw_table_name(self.namespace, self.stream.table)
        fields = {c.name: c.duck_type for c in self.stream.columns}
        if (INTERNAL_SCHEMA, table) not in self.tables:
            self.raw_swap = "rename"
            self._create_raw(self.raw_tmp if self.full else self.raw, fields)
            return
        current = None
        if self.tables[(INTERNAL_SCHEMA, table)]["_airbyte_data"].startswith("STRUCT"):
            current = _struct_fields(con, qualified(INTERNAL_SCHEMA, table))
        if current is not None:
            wanted = current | fields
            if all(t == current.get(n, t) or is_widening(current[n], t)
                   for n, t in wanted.items()):  # fmt: skip
                self.raw_swap, self.raw_fields = "append", list(wanted)
                self.raw_widen = wanted if wanted != current else None
                if self.full and self.refresh:  # straight into the history
                    self.raw_swap, self.raw_into = "direct", self.raw
                    if self.raw_widen:
                        self._widen_raw(wanted)
                elif self.full:  # the history is widened at the swap
                    self._create_raw(self.raw_tmp, wanted)
                elif self.raw_widen:
                    self._widen_raw(wanted)
                return
        # a JSON history (written before the STRUCT layout), or a type the STRUCT cannot hold
        # after a full refresh: keep the old history as it is, start a new one
        self.raw_swap, self.json_history = "archive", current is None
        if not self.full:
            self._archive_raw(self.json_history)
        self._create_raw(self.raw_tmp if self.full else self.raw, fields)

    def _widen_raw(self, fields: dict[str, str]) -> None:
        self.con.execute(
            f"alter table {self.raw} alter column _airbyte_data set data type {_struct(fields)}"
        )

    def _archive_raw(self, json_history: bool) -> None:
        table = raw_table_name(self.namespace, self.stream.table)
        archive = f"{table}__json" if json_history else f"{table}__before_gen{self.generation}"
        self.con.execute(f"alter table {self.raw} rename to {quote(archive)}")

    def _create_raw(self, name: str, fields: dict[str, str]) -> None:
        self.con.execute(
            f"create table {name} (_airbyte_raw_id uuid not null, "
            "_airbyte_extracted_at timestamp with time zone not null, "
            "_airbyte_loaded_at timestamp with time zone, "
            f"_airbyte_data {_struct(fields)} not null, _airbyte_meta json, "
            "_airbyte_generation_id bigint)"
        )
        self.raw_fields = list(fields)

    def drop_orphans(self) -> int:
        """Delete the raw records a killed or failed full refresh appended to the history: those
        of a generation beyond the state's. Return how many."""
        table = raw_table_name(self.namespace, self.stream.table)
        columns = self.tables.get((INTERNAL_SCHEMA, table), {})
        if not self.raw_history or "_airbyte_generation_id" not in columns:
            return 0
        if self.full and not self.refresh:  # no state (a first sync): no generation to trust
            return 0
        state = self.generation - 1 if self.refresh else self.generation
        n = self.con.execute(
            f"delete from {self.raw} where _airbyte_generation_id > ?", [state]
        ).fetchall()[0][0]
        return int(n)

    def _drop_staging(self) -> None:
        self.con.execute(
            f"drop table if exists {self.final_tmp}; drop table if exists {self.raw_tmp}"
        )

    def _swap(self) -> None:
        """Put the staged tables in place of the final table and into the raw history, in the
        transaction that then writes the state: renames, and one INSERT of the raw records
        into an existing history (one statement: DuckDB's memory stays flat)."""
        con = self.con
        con.execute(f"drop table if exists {self.final}")
        con.execute(f"alter table {self.final_tmp} rename to {quote(self.stream.table)}")
        if not self.raw_history:
            return
        if self.raw_swap == "append":
            if self.raw_widen:
                self._widen_raw(self.raw_widen)
            con.execute(f"insert into {self.raw} select * from {self.raw_tmp}")
            con.execute(f"drop table {self.raw_tmp}")
            return
        if self.raw_swap == "direct":  # appended as the batches came
            return
        if self.raw_swap == "archive":
            self._archive_raw(self.json_history)
        raw = raw_table_name(self.namespace, self.stream.table)
        con.execute(f"alter table {self.raw_tmp} rename to {quote(raw)}")

    # -- data -------------------------------------------------------------------------

    def write(self, batch: pa.Table, extracted_at: datetime) -> None:
        """Append the batch to the raw history and fold it into the final table."""
        if batch.num_rows == 0:
            return
        con, n = self.con, batch.num_rows
        batch = batch.append_column(RAW_ID, raw_ids(n))
        if not self.full:  # the row's position in the read, to break cursor ties
            seq = np.arange(self.rows_read, self.rows_read + n, dtype=np.int64)
            seq = pa.Array.from_buffers(pa.int64(), n, [None, pa.py_buffer(seq.tobytes())])
            batch = batch.append_column(_SEQ, seq)
        view = f"_adw_batch_{id(self)}"
        con.register(view, batch)
        try:
            values = {c.name: _value(c) for c in self.stream.columns}
            if self.full:
                self._append_raw(view, values, extracted_at, into=self.raw_into)
                self.inserted += self._insert_final(view, values, extracted_at, self.final_tmp)
            else:
                self._merge(view, values, extracted_at)
        finally:
            # after a failed statement DuckDB 2 refuses all but a rollback, this too: the
            # statement's own error is the one to report (the rollback ends the view anyway)
            with contextlib.suppress(duckdb.TransactionException):
                con.unregister(view)
        self.rows_read += n
        self.staged += n
        if self.full and self.staged >= self.staging_rows:  # bounded transactions
            self.staged = 0
            self._commit()
            self.pause("staging_committed", self.stream.name)
            con.execute("begin transaction")

    def finish(self) -> None:
        """A full sync: swap the staged tables in (the transaction the state then joins); an
        incremental one has nothing to settle: each batch was folded in as it came."""
        if self.full:
            self._commit()
            self.pause("before_swap", self.stream.name)
            self.con.execute("begin transaction")
            self._swap()

    @property
    def changed(self) -> bool:
        """Whether this sync wrote anything (rows or raw history)."""
        return bool(self.inserted or self.updated or self.raw_appended)

    def write_state(self, state: StreamState) -> None:
        """Replace the stream's state row (in this transaction)."""
        save_state(self.con, state)

    def commit(self) -> None:
        self._commit()
        self.con.close()

    def _commit(self) -> None:
        with COMMIT_LOCK:
            self.con.execute("commit")

    def rollback(self) -> None:
        # DuckDB may refuse the rollback too (out of memory, seen under a 32MB limit): closing
        # the cursor then abandons its transaction, and nothing of it was committed
        with contextlib.suppress(Exception):  # no transaction left open: nothing to undo
            self.con.execute("rollback")
        if self.full:  # the batches staged so far: not the stream's data
            with contextlib.suppress(Exception):  # else the next sync drops them
                self._drop_staging()
                self.drop_orphans()
        self.con.close()

    def _append_raw(self, source: str, values: dict[str, str], extracted_at: datetime,
                    where: str = "", into: str | None = None) -> None:  # fmt: skip
        if not self.raw_history:
            return
        data = ", ".join(f"{quote(f)} := {values.get(f, 'null')}" for f in self.raw_fields)
        n = self.con.execute(
            f"insert into {into or self.raw} select {RAW_ID}, ?, current_timestamp, "
            f"struct_pack({data}), "
            f"cast(? as json), ? from {source} {where}",
            [extracted_at, self.meta, self.generation],
        ).fetchall()[0][0]
        self.raw_appended += int(n)

    def _insert_final(self, source: str, values: dict[str, str], extracted_at: datetime,
                      into: str | None = None) -> int:  # fmt: skip
        names = ", ".join(quote(c) for c in values)
        n = self.con.execute(
            f"insert into {into or self.final} (_airbyte_raw_id, _airbyte_extracted_at, "
            f"_airbyte_meta, _airbyte_generation_id, {names}) select {RAW_ID}, ?, "
            f"cast(? as json), ?, {', '.join(values.values())} from {source}",
            [extracted_at, self.meta, self.generation],
        ).fetchall()[0][0]
        return int(n)

    def make_room(self, deletes: int) -> None:
        """Before deleting up to ``deletes`` more rows from the final table: raise DuckDB's
        memory limit by what they may hold (:data:`DELETE_ROOM_PER_DELETE`), up to what the
        whole table may (:data:`DELETE_ROOM_PER_ROW`). The room follows the changes until they
        are spread over the whole table: at scale 100, 5,000 changed order lines take 386 MB
        where the default limit is 128MB; a few rows take a few MB."""
        self.deletes += deletes
        room = min(self.final_rows * DELETE_ROOM_PER_ROW, self.deletes * DELETE_ROOM_PER_DELETE)
        if room > self.room:
            self.add_room(room - self.room)
            self.room = room

    def _merge(self, view: str, values: dict[str, str], extracted_at: datetime) -> None:
        """Fold the batch in by primary key: delete the rows it replaces, insert the winners.

        A row read again exactly as the warehouse holds it (the ``>=`` cursor and the lag
        window re-read such rows on every sync) changes nothing: it is neither folded in nor
        appended to the raw history. Delete + insert rather than UPDATE: DuckDB appends the
        new versions and marks the old ones deleted, so neither the statement nor the next
        checkpoint rewrites the (large, compressed) row groups the old versions live in.
        """
        con = self.con
        cols = [quote(c) for c in values]
        dropped = [quote(c) for c in self.dropped]
        pk = [quote(c) for c in self.stream.primary_key]
        cursor = quote(self.cursor_field)
        new_row = ", ".join([f"s.{c}" for c in cols] + ["null"] * len(dropped))
        old_row = ", ".join([f"f.{c}" for c in cols] + [f"f.{c}" for c in dropped])
        read = ", ".join(f"{v} as {quote(c)}" for c, v in values.items())
        # the IN prefilter lets the scan of the final table skip what the batch cannot match
        # (a plain hash join reads every column of every row): incremental syncs then cost
        # what they change, not what the table holds (scale 10 join 47 -> 16 ms). Only the key
        # and cursor columns are read for every row the batch names; the whole old row only
        # where the cursor ties (a row read again), the join on the cursor letting DuckDB skip
        # the row groups whose cursors are all older (issue 19: a changed row's old version
        # is never read whole, so the cost does not grow with the table's width and size)
        key = self.stream.primary_key[0]
        held = (
            f"(select {', '.join(pk)}, {cursor}, rowid as _adw_rowid from {self.final} "
            f"where {pk[0]} in (select {values.get(key, quote(key))} from {view}))"
        )
        on_key = " and ".join(f"f.{c} = s.{c}" for c in pk)
        con.execute(
            f"create or replace temp table _adw_read as select s.*, f.{pk[0]} is not null as "
            f"_adw_existed, f.{cursor} as _adw_old_cursor, f._adw_rowid, false as _adw_same "
            f"from (select {RAW_ID}, {_SEQ}, {read} from {view}) s left join {held} f on {on_key}"
        )
        same = f"row({new_row}) is not distinct from row({old_row})"
        ties = "(select * from _adw_read where _adw_existed and {} )"
        con.execute(
            f"update _adw_read set _adw_same = true where {RAW_ID} in (select s.{RAW_ID} from "
            f"{ties.format(f'{cursor} = _adw_old_cursor')} s join {self.final} f on {on_key} "
            f"and f.{cursor} = s.{cursor} where {same} union all select s.{RAW_ID} from "
            f"{ties.format(f'{cursor} is null and _adw_old_cursor is null')} s "
            f"join {self.final} f on {on_key} and f.{cursor} is null where {same})"
        )
        # the common case on a schedule: every row read is already held as it is
        if not con.execute("select count(*) from _adw_read where not _adw_same").fetchall()[0][0]:
            con.execute("drop table _adw_read")
            return
        self._append_raw("_adw_read", {c: quote(c) for c in values}, extracted_at,
                         "where not _adw_same")  # fmt: skip
        # greatest cursor wins; a tie goes to the latest extraction (the row read last)
        con.execute(
            "create or replace temp table _adw_apply as select * from (select * from _adw_read "
            f"qualify row_number() over (partition by {', '.join(pk)} order by {cursor} desc "
            f"nulls last, {_SEQ} desc) = 1) where not _adw_same and (not _adw_existed or "
            f"{cursor} >= _adw_old_cursor or _adw_old_cursor is null)"
        )
        existed, new = con.execute(
            "select count(*) filter (where _adw_existed), count(*) filter (where not "
            "_adw_existed) from _adw_apply"
        ).fetchall()[0]
        if existed:  # by row id: the scan of the final table reads none of its columns
            self.make_room(int(existed))
            con.execute(
                f"delete from {self.final} where rowid in "
                "(select _adw_rowid from _adw_apply where _adw_existed)"
            )
        if existed or new:
            self._insert_final("_adw_apply", {c: quote(c) for c in values}, extracted_at)
        if self.cursor_field == CDC_CURSOR and (existed or new):  # CDC deletes: the record
            # leaves; only rows this batch wrote can be delete records, so only its keys are read
            self.deleted += con.execute(
                f"delete from {self.final} where {quote(CDC_DELETED_AT)} is not null and "
                f"{pk[0]} in (select {pk[0]} from _adw_apply)"
            ).fetchall()[0][0]
        con.execute("drop table _adw_apply; drop table _adw_read")
        self.inserted += int(new)
        self.updated += int(existed)


def _value(column) -> str:
    """The column read from the Arrow batch, cast where Arrow's type is not the final one."""
    if column.duck_type in _CAST_FROM_ARROW:
        return f"cast({quote(column.name)} as {column.duck_type})"
    return quote(column.name)


_CAST_FROM_ARROW = {"TIME", "TIMESTAMP WITH TIME ZONE"}


def _struct(fields: dict[str, str]) -> str:
    return "struct(" + ", ".join(f"{quote(n)} {t}" for n, t in fields.items()) + ")"


def _struct_fields(con: duckdb.DuckDBPyConnection, raw: str) -> dict[str, str]:
    """The fields of a raw table's ``_airbyte_data`` STRUCT and their types."""
    rows = con.execute(f"describe select unnest(_airbyte_data) from {raw}").fetchall()
    return {r[0]: r[1] for r in rows}


def save_state(con: duckdb.DuckDBPyConnection, state: StreamState) -> None:
    """Replace the stream's state row; call inside the transaction that wrote its data."""
    if state.cdc_lsn is not None:
        cdc = qualified(INTERNAL_SCHEMA, CDC_STATE_TABLE)
        con.execute(
            f"delete from {cdc} where namespace = ? and name = ?", [state.namespace, state.name]
        )
        con.execute(
            f"insert into {cdc} values (?, ?, ?, ?, current_timestamp)",
            [state.namespace, state.name, CDC_SLOT, state.cdc_lsn],
        )
    table = qualified(INTERNAL_SCHEMA, STATE_TABLE)
    con.execute(
        f"delete from {table} where namespace = ? and name = ?", [state.namespace, state.name]
    )
    values = [getattr(state, n) for n, _ in COLUMNS[:-1]]
    con.execute(f"insert into {table} values ({'?, ' * len(values)}current_timestamp)", values)
