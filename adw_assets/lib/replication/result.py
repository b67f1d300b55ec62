"""What a replication run reports: per-stream results and progress events."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from datetime import datetime

from adw_assets.errors import AdwError


@dataclass
class StreamResult:
    stream: str
    """Source table, ``schema.table``."""
    namespace: str
    table: str
    status: str
    """``ok`` or ``failed``."""
    rows_read: int = 0
    rows_inserted: int = 0
    rows_updated: int = 0
    cursor: datetime | None = None
    generation: int | None = None
    sync_id: int | None = None
    full_refresh: bool = False
    seconds: float = 0.0
    error: str | None = None
    attempts: int = 1
    schema_changes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.status == "ok"


@dataclass
class ReplicationResult:
    sync_id: int
    streams: list[StreamResult]
    seconds: float

    @property
    def ok(self) -> bool:
        return all(s.ok for s in self.streams)

    @property
    def failed(self) -> list[StreamResult]:
        return [s for s in self.streams if not s.ok]

    @property
    def rows_read(self) -> int:
        return sum(s.rows_read for s in self.streams)

    def __getitem__(self, stream: str) -> StreamResult:
        for s in self.streams:
            if stream in (s.stream, s.table):
                return s
        raise KeyError(stream)

    def raise_for_failures(self) -> None:
        """Raise an :class:`AdwError` naming every failed stream and why."""
        if self.failed:
            lines = "\n".join(f"  {s.error}" for s in self.failed)
            raise AdwError(f"{len(self.failed)} stream(s) failed to replicate:\n{lines}")


@dataclass(frozen=True)
class ProgressEvent:
    stream: str
    phase: str
    """``start``, ``batch``, ``retry``, ``done`` or ``failed``."""
    rows: int
    seconds: float
    message: str
    streams_done: int
    streams_total: int

    def format(self) -> str:
        head = f"[{self.streams_done}/{self.streams_total}] {self.stream}"
        rate = f"{self.rows / self.seconds:,.0f} rows/s" if self.seconds > 0 else ""
        if self.phase == "done":
            return f"{head}: {self.rows:,} rows in {self.seconds:.2f} s ({rate})"
        if self.phase == "batch":
            return f"{head}: {self.rows:,} rows so far ({rate})"
        if self.phase in ("retry", "failed"):
            return f"{head}: {self.phase}: {self.message}"
        return f"{head}: {self.phase}"


def stderr_progress(event: ProgressEvent) -> None:
    """A progress callback that prints one line per event on stderr (batches omitted)."""
    if event.phase != "start":
        print(event.format(), file=sys.stderr, flush=True)
