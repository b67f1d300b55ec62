"""Decode PostgreSQL's ``pgoutput`` logical replication messages (protocol version 1).

The messages come from ``pg_logical_slot_peek_binary_changes(..., 'proto_version', '1',
'publication_names', ...)`` (see :mod:`cdc_slot`), one per row of its result. Values are
PostgreSQL's text output (the decoding session's ``TimeZone`` and ``DateStyle``), which the
CDC reader parses with the same pyarrow conversion as the cursor reader's COPY text.

Message layout: https://www.postgresql.org/docs/16/protocol-logicalrep-message-formats.html
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

PG_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
UNCHANGED = object()
"""A TOASTed value the update did not change: pgoutput does not send it (``'u'``)."""

_I16, _I32, _I64 = struct.Struct("!h"), struct.Struct("!i"), struct.Struct("!q")


@dataclass(frozen=True)
class Relation:
    relid: int
    schema: str
    table: str
    columns: tuple[str, ...]


@dataclass(frozen=True)
class Begin:
    final_lsn: int
    """LSN of the transaction's commit record."""
    committed_at: datetime
    xid: int


@dataclass(frozen=True)
class Commit:
    commit_lsn: int
    end_lsn: int
    committed_at: datetime


@dataclass(frozen=True)
class Change:
    """An insert (``op`` ``I``), update (``U``) or delete (``D``) of one row. ``values`` are
    text (or None, or :data:`UNCHANGED`), in the relation's column order; a delete carries the
    replica identity (the primary key by default) and None elsewhere."""

    op: str
    relid: int
    values: tuple = field(repr=False)


@dataclass(frozen=True)
class Truncate:
    relids: tuple[int, ...]


class _Buf:
    __slots__ = ("data", "pos")

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def byte(self) -> str:
        self.pos += 1
        return chr(self.data[self.pos - 1])

    def i16(self) -> int:
        (v,) = _I16.unpack_from(self.data, self.pos)
        self.pos += 2
        return v

    def i32(self) -> int:
        (v,) = _I32.unpack_from(self.data, self.pos)
        self.pos += 4
        return v

    def i64(self) -> int:
        (v,) = _I64.unpack_from(self.data, self.pos)
        self.pos += 8
        return v

    def string(self) -> str:
        end = self.data.index(0, self.pos)
        s = self.data[self.pos : end].decode()
        self.pos = end + 1
        return s

    def time(self) -> datetime:
        return PG_EPOCH + timedelta(microseconds=self.i64())

    def tuple(self) -> tuple:
        out = []
        for _ in range(self.i16()):
            kind = self.byte()
            if kind == "t":
                n = self.i32()
                out.append(self.data[self.pos : self.pos + n].decode())
                self.pos += n
            elif kind == "n":
                out.append(None)
            elif kind == "u":
                out.append(UNCHANGED)
            else:
                raise ValueError(f"pgoutput: unknown tuple value kind {kind!r}")
        return tuple(out)


def decode(message: bytes) -> Relation | Begin | Commit | Change | Truncate | None:
    """One pgoutput message; None for those the replicator does not need (origin, type)."""
    buf = _Buf(bytes(message))
    kind = buf.byte()
    if kind in "IUD":
        relid = buf.i32()
        tag = buf.byte()
        if kind == "U" and tag in "KO":  # the old key or row, then the new row
            buf.tuple()
            tag = buf.byte()
        return Change(kind, relid, buf.tuple())
    if kind == "B":
        return Begin(buf.i64(), buf.time(), buf.i32())
    if kind == "C":
        buf.byte()  # flags
        return Commit(buf.i64(), buf.i64(), buf.time())
    if kind == "R":
        relid, schema, table = buf.i32(), buf.string(), buf.string()
        buf.byte()  # replica identity setting
        columns = []
        for _ in range(buf.i16()):
            buf.byte()  # flags (part of the key)
            columns.append(buf.string())
            buf.i32(), buf.i32()  # type oid, typmod
        return Relation(relid, schema, table, tuple(columns))
    if kind == "T":
        n = buf.i32()
        buf.byte()  # options (cascade, restart identity)
        return Truncate(tuple(buf.i32() for _ in range(n)))
    return None  # 'O' origin, 'Y' type, 'M' logical message


def lsn_int(lsn: str) -> int:
    """``'16/B374D848'`` as a number (what Airbyte writes in ``_ab_cdc_lsn``)."""
    high, low = lsn.split("/")
    return (int(high, 16) << 32) | int(low, 16)


def lsn_text(lsn: int) -> str:
    return f"{lsn >> 32:X}/{lsn & 0xFFFFFFFF:X}"
