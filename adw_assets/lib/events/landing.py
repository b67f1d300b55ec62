"""The landing zone: atomic Parquet micro-batches, dead letters and checkpoints on disk.

Layout under ``$ADW_HOME/events``::

    landing/event_date=YYYY-MM-DD/part-<source>-<first seq>.parquet   accepted events
    dead_letter/received_date=YYYY-MM-DD/part-<source>-<first seq>.jsonl   rejected ones
    checkpoints/<source>.json   next sequence number (+ the batch being written)

Every file appears by ``os.replace`` of a fsynced temporary file (``.*.tmp``, which no reader
globs), so a reader sees a whole batch file or nothing. A batch file's name is a function of
its stream source and first sequence number: a batch re-written after a crash replaces its
earlier copy instead of adding one.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from adw_assets.lib.dbt import card_hash_salt
from adw_assets.lib.events.config import EventsConfig
from adw_assets.lib.events.dead_letters import IpRedactor, dead_letter_record, private_dir
from adw_assets.lib.events.schema import FIELDS, LANDING_SCHEMA
from adw_assets.lib.events.validate import Validated

_DAY_US = 86_400_000_000
_NAME = re.compile(r"part-(?P<source>[A-Za-z0-9_.-]+?)-(?P<seq>\d{12})\.(?:parquet|jsonl)$")


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _publish(tmp: Path, final: Path) -> None:
    """fsync ``tmp``, rename it over ``final``, fsync the directory: durable and atomic."""
    fd = os.open(tmp, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    os.replace(tmp, final)
    fsync_dir(final.parent)


def atomic_write_text(path: Path, text: str, mode: int = 0o644) -> None:
    """Write ``text`` to ``path`` by rename of a fsynced temporary file created with ``mode``
    (minus the umask)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with open(fd, "w", encoding="utf-8") as handle:
        handle.write(text)
    _publish(tmp, path)


def batch_name(source: str, seq_start: int, suffix: str = "parquet") -> str:
    return f"part-{source}-{seq_start:012d}.{suffix}"


def parse_batch_name(name: str) -> tuple[str, int] | None:
    match = _NAME.fullmatch(name)
    return (match["source"], int(match["seq"])) if match else None


def _day(us: int) -> str:
    return datetime.fromtimestamp(us // _DAY_US * 86_400, UTC).strftime("%Y-%m-%d")


def _table(columns: dict[str, list], ingested_us: int, batch_id: str) -> pa.Table:
    n = len(columns["event_id"])
    arrays = [pa.array(columns[f.name], f.type) for f in LANDING_SCHEMA if f.name in FIELDS]
    arrays.append(pa.array([ingested_us] * n, pa.int64()).cast(LANDING_SCHEMA.field(-2).type))
    arrays.append(pa.array([batch_id] * n, pa.string()))
    return pa.Table.from_arrays(arrays, schema=LANDING_SCHEMA)


def warm_up() -> None:
    """Pay pyarrow's one-off lazy imports (pandas, ~0.5 s) before the first batch is timed."""
    _table({f: [None] for f in FIELDS}, 0, "warm-up")


@dataclass
class Checkpoint:
    """Where a stream source is: ``next_seq`` is the first event not yet acknowledged.

    ``pending`` describes the batch being written (written ahead of its files): after a crash
    the batch is re-generated from it, identical, and its files replace any partial copy.
    """

    source: str
    next_seq: int = 0
    pending: dict | None = None
    accepted: int = 0
    rejected: int = 0
    batches: int = 0
    params: dict = field(default_factory=dict)
    updated_at: float = 0.0


def checkpoint_path(cfg: EventsConfig, source: str) -> Path:
    return cfg.checkpoint_dir / f"{source}.json"


def read_checkpoint(cfg: EventsConfig, source: str) -> Checkpoint | None:
    path = checkpoint_path(cfg, source)
    if not path.exists():
        return None
    data = json.loads(path.read_text(encoding="utf-8"))
    return Checkpoint(**{k: v for k, v in data.items() if k in Checkpoint.__dataclass_fields__})


def write_checkpoint(cfg: EventsConfig, checkpoint: Checkpoint) -> None:
    checkpoint.updated_at = datetime.now(UTC).timestamp()
    atomic_write_text(checkpoint_path(cfg, checkpoint.source), json.dumps(asdict(checkpoint)))


def list_checkpoints(cfg: EventsConfig) -> list[Checkpoint]:
    if not cfg.checkpoint_dir.exists():
        return []
    found = (read_checkpoint(cfg, p.stem) for p in sorted(cfg.checkpoint_dir.glob("*.json")))
    return [c for c in found if c is not None]


@contextlib.contextmanager
def source_lock(cfg: EventsConfig, source: str):
    """Exclusive lock of a stream source (two streamers of one source would collide)."""
    import fcntl

    from adw_assets.errors import AdwError

    cfg.checkpoint_dir.mkdir(parents=True, exist_ok=True)
    with open(cfg.checkpoint_dir / f"{source}.lock", "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise AdwError(
                f"another `adw events stream` is running for source {source!r}; stop it first, "
                "or stream with another --seed (or --source-name)"
            ) from None
        yield


@contextlib.contextmanager
def partition_lock(cfg: EventsConfig, partition: str, exclusive: bool = False):
    """The lock of one landing partition (``event_date=D``): a writer holds it shared from its
    temporary file to its rename, the compactor exclusively while it swaps the partition's
    directory (lib/events/compact.py), so no batch is ever written into a swapped-out one."""
    import fcntl

    locks = cfg.compaction_dir / "locks"
    locks.mkdir(parents=True, exist_ok=True)
    fd = os.open(locks / f"{partition}.lock", os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX if exclusive else fcntl.LOCK_SH)
        yield
    finally:
        os.close(fd)


def write_batch(
    cfg: EventsConfig, source: str, seq_start: int, validated: Validated, ingested_at: float
) -> list[Path]:
    """Land one validated micro-batch (a file per event date, plus its dead letters).

    Returns the files written. When this returns, every accepted event is acknowledged.
    """
    written: list[Path] = []
    batch_id = f"{source}:{seq_start}"
    # the salt first: a missing one stops the batch before any file is written
    redactor = IpRedactor(card_hash_salt()) if validated.dead else None
    ingested_us = round(ingested_at * 1_000_000)
    columns = validated.columns
    if columns["event_id"]:
        days = [ts // _DAY_US for ts in columns["timestamp"]]
        groups: dict[int, list[int]] = {}
        if min(days) == max(days):
            groups[days[0]] = []  # the usual case: the whole batch is one day
        else:
            for i, day in enumerate(days):
                groups.setdefault(day, []).append(i)
        for day, rows in sorted(groups.items()):
            part = columns if not rows else {k: [v[i] for i in rows] for k, v in columns.items()}
            partition = f"event_date={_day(day * _DAY_US)}"
            with partition_lock(cfg, partition):  # the compactor never swaps it meanwhile
                directory = cfg.landing_dir / partition
                directory.mkdir(parents=True, exist_ok=True)
                final = directory / batch_name(source, seq_start)
                tmp = directory / f".{final.name}.tmp"
                pq.write_table(_table(part, ingested_us, batch_id), tmp, compression="zstd")
                _publish(tmp, final)
            written.append(final)
    if validated.dead:  # no IP address in clear, payloads cut to size (dead_letters.py)
        received = datetime.fromtimestamp(ingested_at, UTC)
        stamp = received.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        lines = [
            json.dumps(dead_letter_record(d, redactor, source, batch_id, stamp), ensure_ascii=False)
            for d in validated.dead
        ]
        directory = cfg.dead_letter_dir / f"received_date={received:%Y-%m-%d}"
        private_dir(directory)
        final = directory / batch_name(source, seq_start, "jsonl")
        atomic_write_text(final, "\n".join(lines) + "\n", mode=0o600)
        written.append(final)
    return written


def recent_event_ids(cfg: EventsConfig, limit: int, skip: tuple[str, int] | None = None) -> list:
    """Event ids of the newest landed batch files (any source), up to about ``limit`` ids,
    oldest first: a validator remembering them with a window of ``limit`` then forgets the
    oldest, never the ones just before the restart (a redelivery of those must be caught).

    ``skip=(source, seq)`` leaves out that source's batches from ``seq`` on (the batch being
    re-written after a crash must not count as seen).
    """
    files = []
    for path in cfg.landing_dir.glob("*/part-*.parquet"):
        parsed = parse_batch_name(path.name)
        if parsed is None or (skip and parsed[0] == skip[0] and parsed[1] >= skip[1]):
            continue
        with contextlib.suppress(FileNotFoundError):
            files.append((path.stat().st_mtime, path))
    newest_first: list[list[str]] = []
    count = 0
    for _, path in sorted(files, reverse=True):
        newest_first.append(pq.read_table(path, columns=["event_id"]).column(0).to_pylist())
        count += len(newest_first[-1])
        if count >= limit:
            break
    return [event_id for ids in reversed(newest_first) for event_id in ids]
