"""JSON lines read with a size limit: no input line is ever held beyond the limit plus one read.

``LineReader`` reads a binary stream (a spool file, stdin) line by line with
``readline(limit + 1)``: a line longer than the limit keeps only its first ``limit`` bytes,
the rest is read in chunks of :data:`CHUNK_BYTES` and dropped, and only its length is counted.
The validator turns such a line into one ``too_large`` dead letter (:class:`TooLarge`).
A last line without a newline is returned with ``terminated=False``: the sources hold it until
its newline arrives and report it (docs/events.md, "Lines").
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from adw_assets.lib.events.schema import MAX_LINE_BYTES

CHUNK_BYTES = 64 * 1024
"""How much of an oversized line is read at a time while it is skipped."""


@dataclass(frozen=True)
class TooLarge:
    """A line over :data:`~adw_assets.lib.events.schema.MAX_LINE_BYTES`: its first bytes and
    its whole length (without the newline)."""

    head: bytes
    size: int


@dataclass(frozen=True)
class Line:
    payload: bytes | TooLarge
    """The line without its newline, or :class:`TooLarge`."""
    consumed: int
    """Bytes read from the stream for this line, newline included."""
    terminated: bool
    """False for a last line without a newline (end of the input so far)."""

    @property
    def size(self) -> int:
        p = self.payload
        return p.size if isinstance(p, TooLarge) else len(p)

    @property
    def blank(self) -> bool:
        return not isinstance(self.payload, TooLarge) and not self.payload.strip()


class LineReader:
    """Reads :class:`Line` s from a binary stream; ``crc`` is the CRC-32 of every byte read in
    whole lines (the unterminated rest excluded), from ``crc`` given at the start."""

    def __init__(self, stream, limit: int = MAX_LINE_BYTES, crc: int = 0) -> None:
        self.stream, self.limit, self.crc = stream, limit, crc

    def read(self) -> Line | None:
        """The next line, or ``None`` at the end of the input."""
        head = self.stream.readline(self.limit + 1)
        if not head:
            return None
        crc = zlib.crc32(head, self.crc)
        consumed = len(head)
        if head.endswith(b"\n") or len(head) <= self.limit:
            terminated = head.endswith(b"\n")
            if terminated:
                self.crc = crc
            return Line(head[:-1] if terminated else head, consumed, terminated)
        while True:  # oversized: count the rest, keep none of it
            chunk = self.stream.readline(CHUNK_BYTES)
            if not chunk:
                break
            crc = zlib.crc32(chunk, crc)
            consumed += len(chunk)
            if chunk.endswith(b"\n"):
                break
        terminated = chunk.endswith(b"\n")
        if terminated:
            self.crc = crc
        size = consumed - 1 if terminated else consumed
        return Line(TooLarge(head[: self.limit], size), consumed, terminated)
