"""Where a stream's events come from: the generator, a file of JSON lines, or stdin.

A source hands out *batches* described by a small JSON-able dict (``pending``) from which the
very same payloads can be produced again (``replay``): after a crash the streamer re-writes the
interrupted batch identically. Sequence numbers are event numbers (generator) or line numbers.

Lines are read with a size limit (``lines.LineReader``), and a batch holds at most
:data:`BATCH_BYTES` of them: a source never holds an unbounded amount of its input. A last line
without a newline is held until its newline arrives; at the end of the input its size is in
``unterminated`` and the command reports it (docs/events.md, "Lines").
"""

from __future__ import annotations

import hashlib
import os
import re
import sys
import threading
import time
import zlib
from collections import deque
from pathlib import Path

from adw_assets.errors import AdwError
from adw_assets.lib.events.generator import EventGenerator
from adw_assets.lib.events.lines import LineReader

BATCH_BYTES = 16 * 1024 * 1024
"""Payload bytes a batch of a file or stdin holds at most (besides its line count)."""

_SOURCE_NAME = re.compile(r"[A-Za-z0-9_.]+(?:-[A-Za-z0-9_.]+)*")


def valid_source_name(name: str) -> bool:
    """Stream names go into file names (``part-<source>-<seq>.parquet``)."""
    return bool(_SOURCE_NAME.fullmatch(name)) and len(name) <= 80


class GeneratorSource:
    """Generated events at ``rate`` per second (``rate <= 0``: as fast as possible).

    With ``window=(start, end)`` (epoch seconds) the ``limit`` events are spread evenly over
    that window whatever the wall clock (bursts, backfills).
    """

    replayable = True

    def __init__(
        self,
        generator: EventGenerator,
        rate: float = 1000.0,
        limit: int | None = None,
        window: tuple[float, float] | None = None,
        name: str | None = None,
        max_batch: int = 20_000,
    ) -> None:
        if window is not None and not limit:
            raise ValueError("a window needs a limit (the number of events to spread over it)")
        self.generator = generator
        self.rate = rate
        self.limit = limit
        self.window = window
        self.name = name or f"{generator.stream}-s{generator.seed}"
        self.max_batch = max_batch
        self.exhausted = False
        # one batch per flush interval when rate-limited; otherwise as fast as possible
        self.paced = rate > 0 and window is None
        self._started: float | None = None
        self._first_seq = 0
        self._last_t1: float | None = None
        self.unterminated: int | None = None  # generated events are whole

    def verify(self, checkpoint) -> None:
        pass

    def start(self, checkpoint) -> None:
        self._started = time.time()
        self._first_seq = checkpoint.next_seq

    def next_batch(self, next_seq: int, now: float) -> dict | None:
        emitted = next_seq - self._first_seq
        if self.limit is not None and emitted >= self.limit:
            self.exhausted = True
            return None
        left = self.max_batch if self.limit is None else min(self.max_batch, self.limit - emitted)
        if self.window is not None:
            w0, w1 = self.window
            per_event = (w1 - w0) / self.limit
            count = left
            t0, t1 = w0 + per_event * emitted, w0 + per_event * (emitted + count)
        elif self.rate > 0:
            count = min(left, int(self.rate * (now - self._started)) - emitted)
            if count <= 0:
                return None
            t0 = self._started + emitted / self.rate
            t1 = self._started + (emitted + count) / self.rate
        else:
            count = left
            t0 = self._last_t1 if self._last_t1 is not None else now
            t1 = max(now, t0)
        self._last_t1 = t1
        pending = {"start": next_seq, "end": next_seq + count, "t0": t0, "t1": t1}
        pending.update({"received_at": now, "bad_ratio": self.generator.bad_ratio})
        return pending

    def replay(self, pending: dict) -> list:
        generator = self.generator
        if pending.get("bad_ratio", generator.bad_ratio) != generator.bad_ratio:
            generator = EventGenerator(
                generator.seed,
                generator.reference,
                pending["bad_ratio"],
                generator.lookback_hours,
                generator.stream,
            )
        count = pending["end"] - pending["start"]
        return generator.emit(pending["start"], count, pending["t0"], pending["t1"])

    def emitted_at(self, pending: dict) -> float:
        """When the oldest event of the batch was emitted (for the lag)."""
        return pending["received_at"] if self.window else pending["t0"]

    def close(self) -> None:
        pass


def file_source_name(path: Path) -> str:
    resolved = str(path.resolve())
    stem = re.sub(r"[^A-Za-z0-9_.]+", "_", path.stem)[:32] or "file"
    return f"file-{stem}-{hashlib.sha1(resolved.encode()).hexdigest()[:8]}"


class SpoolFileChanged(AdwError):
    """The file under a file source is not the one its checkpoint read (truncated, replaced)."""


class FileSource:
    """JSON lines from a file, resumable by byte offset (an external producer's spool file).

    The checkpoint records, with the offset, the file's inode and the CRC-32 of the bytes before
    the offset: a file that shrank, was replaced or rewritten is an error
    (:class:`SpoolFileChanged`) before anything is read, never a silent skip.
    """

    replayable = True
    paced = False  # read as fast as possible, stop at the end of the file

    def __init__(
        self,
        path: Path,
        max_batch: int = 20_000,
        name: str | None = None,
        max_batch_bytes: int = BATCH_BYTES,
    ) -> None:
        self.path = path
        self.name = name or file_source_name(path)
        self.max_batch = max_batch
        self.max_batch_bytes = max_batch_bytes
        self.exhausted = False
        self.unterminated: int | None = None
        self._handle = open(path, "rb")  # noqa: SIM115 - closed by close()
        self._inode = os.fstat(self._handle.fileno()).st_ino
        self._offset = 0
        self._crc = 0

    def _changed(self, what: str) -> SpoolFileChanged:
        return SpoolFileChanged(
            f"--from-file {self.path}: {what}; nothing more was read. Stream a new spool file "
            f"under a new --source-name (source {self.name!r} has already ingested "
            f"{self._offset:,} bytes of the old one)."
        )

    def verify(self, checkpoint) -> None:
        """Check that the file is the one the checkpoint read up to its offset."""
        params = checkpoint.params
        self._offset = offset = int(params.get("offset", 0))
        pending = checkpoint.pending or {}
        needed = max(offset, int(pending.get("end_offset", 0)))
        if params.get("inode") not in (None, self._inode):
            raise self._changed("it was replaced by another file (its inode changed)")
        size = os.fstat(self._handle.fileno()).st_size
        if size < needed:
            raise self._changed(f"it shrank to {size:,} bytes (truncated or replaced)")
        if params.get("crc32") not in (None, self._prefix_crc(offset)):
            raise self._changed("the bytes already ingested changed (rewritten or replaced)")

    def _prefix_crc(self, offset: int) -> int:
        self._handle.seek(0)
        crc, left = 0, offset
        while left:
            chunk = self._handle.read(min(left, 1 << 20))
            if not chunk:
                break
            crc, left = zlib.crc32(chunk, crc), left - len(chunk)
        return crc

    def start(self, checkpoint) -> None:
        self._offset = int(checkpoint.params.get("offset", 0))
        crc = checkpoint.params.get("crc32")  # absent in a checkpoint of an older adw
        self._crc = int(crc) if crc is not None else self._prefix_crc(self._offset)

    def next_batch(self, next_seq: int, now: float) -> dict | None:
        if os.fstat(self._handle.fileno()).st_size < self._offset:
            raise self._changed("it was truncated while streaming")
        self._handle.seek(self._offset)
        reader = LineReader(self._handle, crc=self._crc)
        lines = held = 0
        end = self._offset
        self.unterminated = None
        while lines < self.max_batch and held < self.max_batch_bytes:
            line = reader.read()
            if line is None:
                break
            if not line.terminated:  # a line still being written: wait for its newline
                self.unterminated = line.size
                break
            lines += 1
            end += line.consumed
            held += min(line.size, reader.limit)
        if lines == 0:
            self._check_still_the_file()
            self.exhausted = True
            return None
        pending = {"start": next_seq, "end": next_seq + lines, "offset": self._offset}
        pending.update({"end_offset": end, "received_at": now})
        pending["ack"] = {"offset": end, "inode": self._inode, "crc32": reader.crc}
        self._offset, self._crc = end, reader.crc
        return pending

    def _check_still_the_file(self) -> None:
        try:
            inode = os.stat(self.path).st_ino
        except FileNotFoundError:
            return  # removed after being read to its end: nothing was skipped
        if inode != self._inode:
            raise self._changed("it was replaced while streaming (its inode changed)")

    def replay(self, pending: dict) -> list:
        self._handle.seek(pending["offset"])
        reader = LineReader(self._handle)
        out, left = [], pending["end_offset"] - pending["offset"]
        while left > 0:
            line = reader.read()
            if line is None:
                raise self._changed("it shrank while its batch was being read")
            left -= line.consumed
            if not line.blank:
                out.append(line.payload)
        return out

    def emitted_at(self, pending: dict) -> float:
        return pending["received_at"]

    def close(self) -> None:
        self._handle.close()


class _LineBuffer:
    """Lines handed from the reading thread to the streamer, at most ``max_bytes`` of them
    held (the reader waits): stdin never piles up in memory faster than it is landed."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: deque = deque()
        self._bytes = 0
        self._closed = False
        self._cond = threading.Condition()

    def put(self, item, size: int) -> None:
        with self._cond:
            while self._bytes >= self.max_bytes:
                self._cond.wait()
            self._items.append((item, size))
            self._bytes += size

    def close(self) -> None:
        with self._cond:
            self._closed = True

    def take(self, max_items: int, max_bytes: int) -> tuple[list, bool]:
        """Up to ``max_items`` / ``max_bytes`` of what is there; whether the input ended."""
        out, taken = [], 0
        with self._cond:
            while self._items and len(out) < max_items and taken < max_bytes:
                item, size = self._items.popleft()
                out.append(item)
                taken += size
            self._bytes -= taken
            self._cond.notify_all()
            return out, self._closed and not self._items


class StdinSource:
    """JSON lines from standard input. Not replayable: the producer re-delivers on failure,
    and ingestion is idempotent on event_id (repeats are dead-lettered or deduplicated)."""

    replayable = False
    paced = True  # one batch per flush interval, of whatever arrived

    def __init__(
        self,
        stream=None,
        max_batch: int = 20_000,
        name: str | None = None,
        max_batch_bytes: int = BATCH_BYTES,
    ) -> None:
        self.name = name or f"stdin-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
        self.max_batch = max_batch
        self.max_batch_bytes = max_batch_bytes
        self.exhausted = False
        self.unterminated: int | None = None
        self._buffer = _LineBuffer(4 * max_batch_bytes)
        self._lines: dict[int, list] = {}
        stream = stream if stream is not None else sys.stdin.buffer
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()

    def _read(self, stream) -> None:
        reader = LineReader(stream)
        try:
            while (line := reader.read()) is not None:
                if not line.terminated:  # stdin ended inside a line: held, reported
                    self.unterminated = line.size
                    break
                if not line.blank:
                    size = min(line.size, reader.limit)
                    self._buffer.put((line.payload, time.time()), size)
        finally:
            self._buffer.close()

    def verify(self, checkpoint) -> None:
        pass

    def start(self, checkpoint) -> None:
        pass

    def next_batch(self, next_seq: int, now: float) -> dict | None:
        items, ended = self._buffer.take(self.max_batch, self.max_batch_bytes)
        if not items:
            self.exhausted = ended
            return None
        lines = [payload for payload, _ in items]
        self._lines[next_seq] = lines
        end = next_seq + len(lines)
        return {"start": next_seq, "end": end, "received_at": now, "read_at": items[0][1]}

    def replay(self, pending: dict) -> list:
        return self._lines.pop(pending["start"], [])

    def emitted_at(self, pending: dict) -> float:
        return pending["read_at"]

    def close(self) -> None:
        pass
