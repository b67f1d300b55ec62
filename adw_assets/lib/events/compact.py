"""Landing-zone compaction: the micro-batches of each closed hour become one Parquet file.

The streamer lands one file per batch (about one a second) in ``landing/event_date=D/``; every
reader globs ``landing/*/*.parquet``. The compactor rewrites the files of each closed
**arrival** hour (the hour of their ``_ingested_at``, which is the streamer's clock) of a
partition into one file ``compact-<YYYY-MM-DDTHH>-<id>.parquet``.

Why no reader ever sees an event twice or misses one: a reader's glob lists one directory per
partition, so the partition is switched whole, in **one** system call. The compactor builds the
new partition beside the landing zone (``compaction/work/``: the compacted files, written to a
temp file, fsynced and renamed, plus a hard link of every file of the partition that it does
not replace) and then exchanges the two directories atomically (Linux ``renameat2`` with
``RENAME_EXCHANGE``, macOS ``renamex_np`` with ``RENAME_SWAP``). A listing made before the
exchange holds the micro-batches, one made after holds the compacted files; there is no
moment with both or neither, as there would be with a rename of the compacted file followed by
the removal of its inputs. The streamer adds files while holding the partition's lock shared
(``landing.partition_lock``, from its temp file to its rename) and the compactor holds it
exclusively from its last listing to the exchange, so no batch lands in a directory that is
being swapped out. After the exchange the replaced micro-batches move to
``compacted/event_date=D/<id>/`` with a ``compaction.json`` manifest, and are deleted
``ADW_EVENTS_COMPACTED_RETENTION_HOURS`` later (a record to verify and, if need be, recover
from; the check ``compacted_events_match_their_micro_batches`` compares the two).

What is closed: an hour whose end is ``GRACE_SECONDS`` behind the clock, whose every file
belongs to a batch its stream has acknowledged (its sequence number is below the checkpoint's
``next_seq``), and no pending batch (a stream killed mid-batch re-writes it, with its original
receive time, on restart) was received before its end. Late events do not reopen an hour: the
streamer files an event by its event date but stamps it with its arrival, so an event
arriving now lands in the current arrival hour of its (older) partition. One stream at a
steady rate gives 24 compacted files a day, plus one in the previous day's partition for each
hour in which late events of that day arrived.

Crash safety and idempotence: before the exchange the compactor writes a journal
(``compaction/<partition>.json``: inputs, outputs, work directory). A run first finishes or
undoes what a killed run left: when the journal's outputs are in the landing partition the
exchange happened and only the retirement of the inputs is redone; otherwise the work
directory (compacted files and hard links, nothing the readers see) is deleted and the hours
are compacted again. A re-run over compacted hours does nothing; a straggler (a batch of a
compacted hour re-written after a crash) is compacted with that hour's file the next time.

What is left to readers: a query that listed the micro-batches before an exchange and opens
one after it fails to find the file (it is under ``compacted/`` by then) and must be re-run;
it never reads a wrong result. Dagster's compaction op declares the pool ``warehouse``, so it
never runs beside a dbt build that Dagster or ``adw`` runs; the live panel skips a vanished
file and reads the compacted one on its next refresh.
"""

from __future__ import annotations

import contextlib
import ctypes
import json
import os
import re
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from adw_assets.errors import AdwError
from adw_assets.lib.events.config import EventsConfig
from adw_assets.lib.events.landing import (
    atomic_write_text,
    fsync_dir,
    list_checkpoints,
    parse_batch_name,
    partition_lock,
)
from adw_assets.lib.events.schema import LANDING_SCHEMA

GRACE_SECONDS = 300.0
"""How long after its end an arrival hour is left alone (a batch received just before the
hour ended may still be being written)."""
ROW_GROUP_ROWS = 122_880  # DuckDB's own row-group size: its unit of parallel reading
COMPACTED = re.compile(
    r"compact-(?P<hour>\d{4}-\d{2}-\d{2}T\d{2})-(?P<id>\d{8}T\d{6}-[0-9a-f]+)\.parquet"
)
MANIFEST = "compaction.json"
_INGESTED = LANDING_SCHEMA.get_field_index("_ingested_at")

Progress = Callable[[str], None]


@dataclass
class HourPlan:
    """The files of one closed arrival hour of one partition, to become one file."""

    hour: str  # UTC, "YYYY-MM-DDTHH"
    inputs: list[str] = field(default_factory=list)
    rows: int = 0


@dataclass
class CompactionSummary:
    partitions: int = 0
    hours: int = 0
    files_before: int = 0
    files_after: int = 0
    events: int = 0
    open_hours: int = 0
    recovered: int = 0
    expired: int = 0
    seconds: float = 0.0

    def line(self) -> str:
        return (
            f"compacted {self.hours} closed hours in {self.partitions} partitions: "
            f"{self.files_before:,} files -> {self.files_after:,}, {self.events:,} events, "
            f"{self.seconds:.1f} s; {self.open_hours} hours still open; "
            f"{self.recovered} interrupted compactions finished; "
            f"{self.expired} retained compactions deleted"
        )

    def as_dict(self) -> dict:
        return asdict(self)


def exchange(a: Path, b: Path) -> None:
    """Swap the directories ``a`` and ``b`` in one atomic system call."""
    libc = ctypes.CDLL(None, use_errno=True)
    try:
        if sys.platform == "darwin":
            result = libc.renamex_np(os.fsencode(a), os.fsencode(b), 2)  # RENAME_SWAP
        else:  # AT_FDCWD, RENAME_EXCHANGE
            result = libc.renameat2(-100, os.fsencode(a), -100, os.fsencode(b), 2)
    except AttributeError:
        result, err = -1, None
    else:
        err = ctypes.get_errno() if result else None
    if result:
        why = os.strerror(err) if err else "no renameat2/renamex_np in the C library"
        raise AdwError(
            f"cannot swap {b} atomically ({why}): compaction needs Linux 3.15+ or macOS 10.12+ "
            "on a local filesystem; leave the landing zone uncompacted there."
        )


def _hour(stamp: float) -> str:
    return datetime.fromtimestamp(stamp, UTC).strftime("%Y-%m-%dT%H")


def _hour_end(hour: str) -> float:
    return datetime.strptime(hour, "%Y-%m-%dT%H").replace(tzinfo=UTC).timestamp() + 3600.0


def _arrival(path: Path) -> tuple[str, int]:
    """(arrival hour, rows) of a landed file, from its footer (``_ingested_at`` is constant in
    a micro-batch; a compacted file names its hour)."""
    meta = pq.read_metadata(path)
    compacted = COMPACTED.fullmatch(path.name)
    if compacted:
        return compacted["hour"], meta.num_rows
    stats = meta.row_group(0).column(_INGESTED).statistics if meta.num_row_groups else None
    if stats is not None and stats.has_min_max:
        stamp = stats.min
    else:  # no statistics: read the column
        stamp = pq.read_table(path, columns=["_ingested_at"]).column(0)[0].as_py()
    return _hour(stamp.timestamp()), meta.num_rows


def plan(cfg: EventsConfig, now: float, progress: Progress | None = None) -> dict:
    """``{partition: [HourPlan, ...]}`` of the closed hours worth compacting, and the number of
    hours left open, as ``(plans, open_hours)``."""
    acked: dict[str, int] = {}
    pending_since = float("inf")
    for checkpoint in list_checkpoints(cfg):
        acked[checkpoint.source] = checkpoint.next_seq
        if checkpoint.pending:
            pending_since = min(pending_since, float(checkpoint.pending["received_at"]))
    plans: dict[str, list[HourPlan]] = {}
    open_hours = 0
    partitions = sorted(p for p in cfg.landing_dir.glob("event_date=*") if p.is_dir())
    for partition in partitions:
        hours: dict[str, HourPlan] = {}
        unacked: set[str] = set()
        names = sorted(n for n in os.listdir(partition) if n.endswith(".parquet") and n[0] != ".")
        if progress and len(names) > 1000:
            progress(f"{partition.name}: reading the footers of {len(names):,} files")
        for name in names:
            hour, rows = _arrival(partition / name)
            plan_ = hours.setdefault(hour, HourPlan(hour))
            plan_.inputs.append(name)
            plan_.rows += rows
            batch = parse_batch_name(name)
            if batch and batch[0] in acked and batch[1] >= acked[batch[0]]:
                unacked.add(hour)
        for hour, plan_ in sorted(hours.items()):
            end = _hour_end(hour)
            closed = end + GRACE_SECONDS <= now and end <= pending_since and hour not in unacked
            if not closed:
                open_hours += 1
            elif len(plan_.inputs) > 1 or not COMPACTED.fullmatch(plan_.inputs[0]):
                plans.setdefault(partition.name, []).append(plan_)
    return plans, open_hours


def _write_compacted(inputs: list[Path], out: Path) -> int:
    """Copy the rows of ``inputs`` into ``out`` (temp file, fsync, rename) in row groups of
    ``ROW_GROUP_ROWS``; returns the rows written. Memory: one row group."""
    tmp = out.with_name(f".{out.name}.tmp")
    rows, buffered, held = 0, [], 0
    scanner = ds.dataset([str(p) for p in inputs], schema=LANDING_SCHEMA, format="parquet")
    with pq.ParquetWriter(tmp, LANDING_SCHEMA, compression="zstd") as writer:
        for batch in scanner.to_batches():
            buffered.append(batch)
            held += batch.num_rows
            if held >= ROW_GROUP_ROWS:
                writer.write_table(pa.Table.from_batches(buffered, LANDING_SCHEMA), ROW_GROUP_ROWS)
                rows, buffered, held = rows + held, [], 0
        if buffered:
            writer.write_table(pa.Table.from_batches(buffered, LANDING_SCHEMA), ROW_GROUP_ROWS)
            rows += held
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, out)
    return rows


def _journal_path(cfg: EventsConfig, partition: str) -> Path:
    return cfg.compaction_dir / f"{partition}.json"


def _compact_partition(cfg: EventsConfig, partition: str, hours: list[HourPlan]) -> dict:
    cid = f"{datetime.now(UTC):%Y%m%dT%H%M%S}-{os.urandom(4).hex()}"
    landing = cfg.landing_dir / partition
    work = cfg.compaction_dir / "work" / f"{partition}.{cid}"
    work.mkdir(parents=True)
    outputs: dict[str, int] = {}
    for h in hours:
        name = f"compact-{h.hour}-{cid}.parquet"
        rows = _write_compacted([landing / n for n in h.inputs], work / name)
        if rows != h.rows:
            raise AdwError(
                f"compaction of {partition} hour {h.hour}: read {rows} events of {h.rows}; "
                "nothing was changed; run `adw events compact` again"
            )
        outputs[name] = rows
    fsync_dir(work)
    inputs = sorted(n for h in hours for n in h.inputs)
    journal = {
        "partition": partition,
        "id": cid,
        "work": str(work),
        "compacted_at": time.time(),
        "inputs": inputs,
        "outputs": outputs,
        "hours": {h.hour: h.inputs for h in hours},
    }
    atomic_write_text(_journal_path(cfg, partition), json.dumps(journal))
    with partition_lock(cfg, partition, exclusive=True):
        present = {n for n in os.listdir(landing) if n[0] != "."}
        missing = set(inputs) - present
        if missing:
            raise AdwError(f"{partition}: {len(missing)} files vanished while compacting")
        for name in sorted(present - set(inputs)):
            os.link(landing / name, work / name)
        stat = landing.stat()  # the sensor watches the partition's mtime: not a new batch
        os.utime(work, ns=(stat.st_atime_ns, stat.st_mtime_ns))
        fsync_dir(work)
        exchange(work, landing)
        fsync_dir(cfg.landing_dir)
        fsync_dir(work.parent)
    _retire(cfg, journal)
    return journal


def _retire(cfg: EventsConfig, journal: dict) -> None:
    """After the exchange: keep only the replaced files in the work directory, move it under
    ``compacted/`` with its manifest, drop the journal. Idempotent."""
    work = Path(journal["work"])
    kept = cfg.compacted_dir / journal["partition"] / journal["id"]
    if work.exists():
        keep = set(journal["inputs"])
        for name in os.listdir(work):
            if name not in keep:  # hard links of files still landed, a writer's stray temp file
                os.unlink(work / name)
        kept.parent.mkdir(parents=True, exist_ok=True)
        os.replace(work, kept)
        fsync_dir(kept.parent)
    if kept.exists() and not (kept / MANIFEST).exists():
        atomic_write_text(kept / MANIFEST, json.dumps(journal))
    with contextlib.suppress(FileNotFoundError):
        os.unlink(_journal_path(cfg, journal["partition"]))


def recover(cfg: EventsConfig) -> int:
    """Finish (after the exchange) or undo (before it) what a killed compactor left."""
    done = 0
    for path in sorted(cfg.compaction_dir.glob("event_date=*.json")):
        journal = json.loads(path.read_text(encoding="utf-8"))
        landing = cfg.landing_dir / journal["partition"]
        if all((landing / name).exists() for name in journal["outputs"]):
            _retire(cfg, journal)
        else:
            shutil.rmtree(journal["work"], ignore_errors=True)
            path.unlink()
        done += 1
    work = cfg.compaction_dir / "work"
    for stray in work.iterdir() if work.exists() else []:  # killed before its journal
        shutil.rmtree(stray, ignore_errors=True)
    return done


def expire_compacted(cfg: EventsConfig, now: float) -> int:
    """Delete the replaced micro-batches kept longer than the retention; returns how many
    compactions' worth."""
    expired = 0
    horizon = now - cfg.compacted_retention_hours * 3600.0
    for kept in sorted(cfg.compacted_dir.glob("event_date=*/*")):
        stamp = datetime.strptime(kept.name.split("-", 1)[0], "%Y%m%dT%H%M%S")
        if stamp.replace(tzinfo=UTC).timestamp() <= horizon:
            shutil.rmtree(kept)
            expired += 1
    for partition in cfg.compacted_dir.glob("event_date=*"):
        with contextlib.suppress(OSError):
            partition.rmdir()  # only when empty
    return expired


@contextlib.contextmanager
def compactor_lock(cfg: EventsConfig):
    import fcntl

    cfg.compaction_dir.mkdir(parents=True, exist_ok=True)
    with open(cfg.compaction_dir / "compactor.lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AdwError(
                "another compaction of the landing zone is running (`adw events compact` or "
                "landing_compaction_job); wait for it to end"
            ) from None
        yield


def compact(
    cfg: EventsConfig, now: float | None = None, progress: Progress | None = None
) -> CompactionSummary:
    """Compact every closed hour of the landing zone, then delete the replaced micro-batches
    older than the retention. Safe to run at any time, again, or after a kill."""
    started = time.monotonic()
    now = time.time() if now is None else now
    summary = CompactionSummary()
    with compactor_lock(cfg):
        summary.recovered = recover(cfg)
        if cfg.landing_dir.exists():
            plans, summary.open_hours = plan(cfg, now, progress)
            for partition, hours in plans.items():
                files = sum(len(h.inputs) for h in hours)
                if progress:
                    progress(f"{partition}: {files:,} files of {len(hours)} hours -> {len(hours)}")
                journal = _compact_partition(cfg, partition, hours)
                summary.partitions += 1
                summary.hours += len(hours)
                summary.files_before += files
                summary.files_after += len(hours)
                summary.events += sum(journal["outputs"].values())
        summary.expired = expire_compacted(cfg, now)
    summary.seconds = time.monotonic() - started
    return summary


def verify_retained(cfg: EventsConfig) -> list[dict]:
    """For each compaction still retained: the events of its micro-batches and of its
    compacted files, and how many (event_id, batch) rows differ between the two (0: lossless,
    nothing doubled). A compacted file since compacted again is looked for in its successor's
    retained inputs."""
    import duckdb

    results = []
    manifests = sorted(cfg.compacted_dir.glob(f"event_date=*/*/{MANIFEST}"))
    with duckdb.connect() as con:
        for manifest in manifests:
            journal = json.loads(manifest.read_text(encoding="utf-8"))
            kept = manifest.parent
            partition = journal["partition"]
            outputs = []
            for name in journal["outputs"]:
                found = [cfg.landing_dir / partition / name]
                found += sorted((cfg.compacted_dir / partition).glob(f"*/{name}"))
                outputs += [p for p in found if p.exists()][:1]
            if len(outputs) < len(journal["outputs"]):
                continue  # its compacted files expired with their successor's retention
            ins, outs = [str(kept / n) for n in journal["inputs"]], [str(p) for p in outputs]
            read = "select event_id, _batch_id from read_parquet(?)"
            row = con.execute(
                f"select (select count(*) from read_parquet(?)), "
                f"(select count(*) from read_parquet(?)), "
                f"(select count(*) from (({read}) except all ({read}))) + "
                f"(select count(*) from (({read}) except all ({read})))",
                [ins, outs, ins, outs, outs, ins],
            ).fetchone()
            results.append(
                {
                    "compaction": f"{partition}/{journal['id']}",
                    "micro_batch_events": row[0],
                    "compacted_events": row[1],
                    "differing_rows": row[2],
                }
            )
    return results
