"""``adw replicate --follow``: change data capture, continuously, in micro-batches.

After the initial snapshot (when the warehouse has none), a loop on one source session:

1. read the slot (:func:`cdc.read_changes`: ``pg_logical_slot_peek_binary_changes``) up to
   the current WAL position, at most ``batch_changes`` messages (whole transactions), so the
   memory held is bounded whatever the backlog;
2. apply them with the engine, in one DuckDB transaction per stream that changed, each storing
   its LSN with its data (the exactly-once rules of :mod:`cdc` are unchanged);
3. acknowledge (``pg_replication_slot_advance``) only after those commits;
4. when the read came back with less than a full batch, wait ``poll_seconds`` (the source
   committed nothing more yet); when it was full, read again at once (catching up).

Polling over SQL, not psycopg2's streaming protocol (docs/replication.md, CDC: continuous
mode): a micro-batch costs a warehouse commit that dwarfs the 0.05 s polling adds, and the
reader, its acknowledgement and its kill-tested exactly-once protocol stay those of
``adw replicate``. The warehouse is opened per micro-batch and closed between them, so a dbt
build or the checks can take DuckDB's lock in between (the next batch waits for it).

A stop request (Ctrl-C, SIGTERM: :meth:`Follower.stop`) is honoured between micro-batches:
the batch being applied is committed and acknowledged, then the loop ends.

With ``progress`` (a path: ``adw replicate --follow`` gives ``$ADW_HOME/replication/
cdc_follow.json``), the streams' applied positions are written there when the loop starts and
after every acknowledged micro-batch that changed something (:mod:`cdc_progress`): Dagster's
sensor reads that file, never the warehouse.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import psycopg

from adw_assets.errors import AdwError, ConfigError
from adw_assets.lib.replication import cdc, cdc_progress, cdc_slot, reader
from adw_assets.lib.replication.destination import Destination
from adw_assets.lib.replication.plan import plan_streams
from adw_assets.lib.replication.schedule import run_streams


@dataclass
class Batch:
    """One applied micro-batch."""

    changes: int
    seconds: float
    """Reading, applying and acknowledging it."""
    latencies: list[tuple[float, int]]
    """(seconds from the source commit to the warehouse commit, changes) per transaction."""
    acknowledged: int
    """The slot's confirmed position after it."""


@dataclass
class Summary:
    changes: int = 0
    batches: int = 0
    seconds: float = 0.0
    latencies: list[tuple[float, int]] = field(default_factory=list)
    """Per transaction, bounded: the last 100,000 (for the percentiles of the summary)."""

    def add(self, batch: Batch) -> None:
        self.changes += batch.changes
        self.batches += 1
        self.latencies.extend(batch.latencies)
        del self.latencies[:-100_000]

    def format(self) -> str:
        rate = self.changes / self.seconds if self.seconds else 0.0
        text = (
            f"follow stopped: {self.changes:,} changes in {self.batches:,} micro-batches over "
            f"{self.seconds:.1f} s ({rate:,.0f} changes/s)"
        )
        if self.latencies:
            text += f", commit-to-warehouse {latency_text(self.latencies)}"
        return text


def percentile(latencies: list[tuple[float, int]], q: float) -> float:
    """The ``q`` quantile of the per-change latency (each transaction weighted by its
    changes)."""
    ordered = sorted(latencies)
    total = sum(n for _s, n in ordered)
    seen = 0
    for seconds, n in ordered:
        seen += n
        if seen >= q * total:
            return seconds
    return ordered[-1][0] if ordered else 0.0


def latency_text(latencies: list[tuple[float, int]]) -> str:
    return f"p50 {percentile(latencies, 0.5):.2f} s, p95 {percentile(latencies, 0.95):.2f} s"


class Follower:
    """The continuous CDC loop over one source session (see the module docstring)."""

    def __init__(
        self,
        cdc_dsn: str,
        destination: Destination,
        *,
        prefix: str = "raw_",
        batch_changes: int = 50_000,
        poll_seconds: float = 0.1,
        retries: int = 3,
        workers: int = 2,
        backoff_seconds: float = 1.0,
        raw_history: bool = True,
        progress: Path | None = None,
    ) -> None:
        self.dsn, self.destination, self.prefix = cdc_dsn, destination, prefix
        self.progress = progress
        self.batch_changes, self.poll_seconds = batch_changes, poll_seconds
        self.retries, self.workers, self.backoff = retries, workers, backoff_seconds
        self.raw_history = raw_history
        self.stopping = threading.Event()
        names, _refresh, catalog = plan_streams(cdc_dsn, None, False, retries, backoff_seconds)
        self.names = names
        self.catalog = {n: cdc.with_cdc_columns(catalog[n]) for n in names}
        self.namespaces = sorted({prefix + catalog[n].schema for n in names})
        self.applied: dict[str, int] = {}
        self.acked: int | None = None

    def stop(self) -> None:
        """Ask the loop to end after the micro-batch it is applying (thread- and
        signal-safe)."""
        self.stopping.set()

    # -- the loop ---------------------------------------------------------------------

    def run(
        self,
        *,
        report: Callable[[str], None] | None = None,
        report_seconds: float = 10.0,
        on_batch: Callable[[Batch], None] | None = None,
    ) -> Summary:
        """Follow until :meth:`stop`; ``report`` gets a line of changes/s and lag every
        ``report_seconds``, ``on_batch`` every applied micro-batch."""
        summary = Summary()
        started = last_report = time.perf_counter()
        window = Summary()
        conn = reader.connect(self.dsn)
        try:
            if not cdc_slot.check_ready(conn):
                raise cdc_slot.gone(None)
            self._load_applied()
            self._record_progress()
            while not self.stopping.is_set():
                batch, full = self._step(conn)
                if batch is not None:
                    summary.add(batch)
                    window.add(batch)
                    if on_batch:
                        on_batch(batch)
                now = time.perf_counter()
                if report and now - last_report >= report_seconds:
                    window.seconds = now - last_report
                    report(self._status(conn, window))
                    window, last_report = Summary(), now
                if not full:
                    self.stopping.wait(self.poll_seconds)
        finally:
            conn.close()
        summary.seconds = time.perf_counter() - started
        return summary

    def needs_snapshot(self) -> bool:
        """Whether the initial snapshot is still to take (no slot, or a stream the warehouse
        holds no CDC position for)."""
        with reader.connect(self.dsn) as conn:
            if not cdc_slot.check_ready(conn):
                return True
        return None in self._stored().values()

    def _stored(self) -> dict[str, int | None]:
        with self.destination.open_run(self.namespaces, 1) as target:
            if not hasattr(target, "cdc_states"):
                raise ConfigError(
                    f"ADW_REPLICATION_METHOD=cdc replicates into DuckDB only so far, not into "
                    f"{self.destination.name}; set ADW_REPLICATION_METHOD=cursor."
                )
            stored = target.cdc_states()
        return {
            n: stored.get((self.prefix + self.catalog[n].schema, self.catalog[n].table))
            for n in self.names
        }

    def _load_applied(self) -> None:
        stored = self._stored()
        for n in self.names:
            lsn = stored[n]
            if lsn is None:
                raise AdwError(
                    f"{n} has no CDC position in the warehouse; take the initial snapshot "
                    "first (`adw replicate`), then follow."
                )
            self.applied[n] = lsn

    def _step(self, conn: psycopg.Connection) -> tuple[Batch | None, bool]:
        """Read, apply and acknowledge one micro-batch; whether the read was full (more may
        be waiting)."""
        t0 = time.perf_counter()
        try:
            upto = cdc_slot.current_lsn(conn)
            changes = cdc.read_changes(conn, self.catalog, self.applied, upto, self.batch_changes)
        except psycopg.errors.UndefinedObject as exc:  # the slot was dropped meanwhile
            raise cdc_slot.gone(None) from exc
        except psycopg.errors.ObjectNotInPrerequisiteState as exc:  # invalidated meanwhile
            raise cdc_slot.gone("lost") from exc
        except psycopg.errors.ObjectInUse:  # another session (the lag check) reads the slot:
            return None, False  # nothing read, nothing applied; the next poll reads again
        full = changes.messages >= self.batch_changes
        # a full read ends at its last commit; otherwise everything before upto was read
        end = changes.end_lsn if full and changes.end_lsn is not None else upto
        if changes.n:
            self._apply(changes, end)
        committed = datetime.now(UTC)
        if end > self._acknowledged(conn):
            try:
                cdc_slot.advance(conn, end)  # after the warehouse committed, never before
                self.acked = end
            except psycopg.errors.ObjectInUse:  # busy: a later step acknowledges; meanwhile
                pass  # a re-read skips what is applied (the stored LSN), as after a crash
        if not changes.n:
            return None, full
        self._record_progress()
        latencies = [((committed - at).total_seconds(), n) for at, n in changes.commits]
        return Batch(changes.n, time.perf_counter() - t0, latencies, end), full

    def _acknowledged(self, conn: psycopg.Connection) -> int:
        if self.acked is None:
            self.acked = cdc_slot.confirmed(conn)
        return self.acked

    def _record_progress(self) -> None:
        if self.progress is not None:
            cdc_progress.write(self.progress, self.applied)

    def _apply(self, changes: cdc.Changes, end: int) -> None:
        from adw_assets.lib.replication.engine import _Run

        names = [n for n in self.names if changes.rows.get(n)]
        workers = min(self.workers, len(names))
        source = cdc.ChangeSource(changes.rows, end)
        with self.destination.open_run(self.namespaces, workers) as target:
            run = _Run(self.dsn, target, prefix=self.prefix, lag_seconds=0,
                       batch_rows=self.batch_changes, retries=self.retries,
                       backoff=self.backoff, progress=None, total=len(names),
                       raw_history=self.raw_history, source=source)  # fmt: skip
            run.pg = lambda: None  # the changes are in memory: no source session to read
            try:
                done = run_streams(names, lambda n: run.sync(self.catalog[n], False),
                                   workers=workers)  # fmt: skip
            finally:
                run.close()
        failed = [done[n] for n in names if not done[n].ok]
        for n in names:
            if done[n].ok:
                self.applied[n] = end
        if failed:  # the slot stays before the failed stream's changes; a rerun applies them
            lines = "; ".join(r.error or r.stream for r in failed)
            raise AdwError(f"{len(failed)} stream(s) failed to apply CDC changes: {lines}")

    def _status(self, conn: psycopg.Connection, window: Summary) -> str:
        rate = window.changes / window.seconds if window.seconds else 0.0
        row = conn.execute(
            "select pg_wal_lsn_diff(pg_current_wal_lsn(), restart_lsn)::bigint "
            "from pg_replication_slots where slot_name = %s",
            (cdc_slot.SLOT,),
        ).fetchone()
        held = f", slot holds {(row[0] or 0) / 2**20:,.1f} MiB of WAL" if row else ""
        lag = latency_text(window.latencies) if window.latencies else "idle"
        return f"follow: {window.changes:,} changes ({rate:,.0f}/s), lag {lag}{held}"
