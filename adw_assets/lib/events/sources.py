"""Where a stream's events come from: the generator, a file of JSON lines, or stdin.

A source hands out *batches* described by a small JSON-able dict (``pending``) from which the
very same payloads can be produced again (``replay``): after a crash the streamer re-writes the
interrupted batch identically. Sequence numbers are event numbers (generator) or line numbers.
"""

from __future__ import annotations

import hashlib
import os
import queue
import re
import sys
import threading
import time
from pathlib import Path

from adw_assets.lib.events.generator import EventGenerator

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


class FileSource:
    """JSON lines from a file, resumable by byte offset (an external producer's spool file)."""

    replayable = True
    paced = False  # read as fast as possible, stop at the end of the file

    def __init__(self, path: Path, max_batch: int = 20_000, name: str | None = None) -> None:
        self.path = path
        self.name = name or file_source_name(path)
        self.max_batch = max_batch
        self.exhausted = False
        self._handle = open(path, "rb")  # noqa: SIM115 - closed by close()
        self._offset = 0

    def start(self, checkpoint) -> None:
        self._offset = int(checkpoint.params.get("offset", 0))

    def next_batch(self, next_seq: int, now: float) -> dict | None:
        self._handle.seek(self._offset)
        lines = 0
        end = self._offset
        while lines < self.max_batch:
            line = self._handle.readline()
            if not line or not line.endswith(b"\n"):
                break  # EOF, or a line still being written: wait for its newline
            lines += 1
            end += len(line)
        if lines == 0:
            self.exhausted = True
            return None
        pending = {"start": next_seq, "end": next_seq + lines, "offset": self._offset}
        pending.update({"end_offset": end, "received_at": now})
        self._offset = end
        return pending

    def replay(self, pending: dict) -> list:
        self._handle.seek(pending["offset"])
        data = self._handle.read(pending["end_offset"] - pending["offset"])
        return [line for line in data.split(b"\n") if line.strip()]

    def emitted_at(self, pending: dict) -> float:
        return pending["received_at"]

    def close(self) -> None:
        self._handle.close()


class StdinSource:
    """JSON lines from standard input. Not replayable: the producer re-delivers on failure,
    and ingestion is idempotent on event_id (repeats are dead-lettered or deduplicated)."""

    replayable = False
    paced = True  # one batch per flush interval, of whatever arrived

    def __init__(self, stream=None, max_batch: int = 20_000, name: str | None = None) -> None:
        self.name = name or f"stdin-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}"
        self.max_batch = max_batch
        self.exhausted = False
        self._queue: queue.Queue = queue.Queue(maxsize=4 * max_batch)
        self._lines: dict[int, list] = {}
        stream = stream if stream is not None else sys.stdin.buffer
        self._thread = threading.Thread(target=self._read, args=(stream,), daemon=True)
        self._thread.start()
        self._eof = False

    def _read(self, stream) -> None:
        for line in stream:
            if line.strip():
                self._queue.put((line, time.time()))
        self._queue.put(None)

    def start(self, checkpoint) -> None:
        pass

    def next_batch(self, next_seq: int, now: float) -> dict | None:
        lines, first_read = [], None
        while len(lines) < self.max_batch and not self._eof:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if item is None:
                self._eof = True
                break
            lines.append(item[0])
            first_read = first_read or item[1]
        if not lines:
            self.exhausted = self._eof
            return None
        self._lines[next_seq] = lines
        end = next_seq + len(lines)
        return {"start": next_seq, "end": end, "received_at": now, "read_at": first_read}

    def replay(self, pending: dict) -> list:
        return self._lines.pop(pending["start"], [])

    def emitted_at(self, pending: dict) -> float:
        return pending["read_at"]

    def close(self) -> None:
        pass
