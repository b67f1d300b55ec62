"""The streamer: pulls batches from a source, validates them and lands them, losslessly.

Per batch: (1) the checkpoint records the batch as pending, (2) the batch is (re)produced from
its source, validated, and its files renamed into the landing zone (from then on its events
are *acknowledged*), (3) the checkpoint moves ``next_seq`` past it. A kill -9 anywhere leaves
either no trace of the batch, or a pending record from which the restart re-writes the very
same files (same names: they replace any partial copy). The streamer never opens DuckDB.
"""

from __future__ import annotations

import sys
import threading
import time
from collections import Counter
from dataclasses import dataclass, field

from adw_assets.lib.events.config import EventsConfig, events_config
from adw_assets.lib.events.landing import (
    Checkpoint,
    read_checkpoint,
    recent_event_ids,
    source_lock,
    warm_up,
    write_batch,
    write_checkpoint,
)
from adw_assets.lib.events.validate import Validator
from adw_assets.settings import get_settings


@dataclass
class StreamStats:
    source: str
    accepted: int = 0
    rejected: int = 0
    batches: int = 0
    files: int = 0
    reasons: Counter = field(default_factory=Counter)
    seconds: float = 0.0
    max_lag: float = 0.0
    resumed_at: int = 0
    next_seq: int = 0
    recovered_batch: bool = False
    unterminated: int | None = None
    """Bytes of a last line without a newline at the end of the input: held, not ingested."""

    @property
    def events(self) -> int:
        return self.accepted + self.rejected

    def as_dict(self) -> dict:
        rate = self.events / self.seconds if self.seconds > 0 else 0.0
        return {
            "source": self.source,
            "events": self.events,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "rejected_by_reason": dict(sorted(self.reasons.items())),
            "batches": self.batches,
            "files": self.files,
            "seconds": round(self.seconds, 3),
            "events_per_second": round(rate, 1),
            "max_lag_seconds": round(self.max_lag, 3),
            "resumed_at_seq": self.resumed_at,
            "next_seq": self.next_seq,
            "recovered_batch": self.recovered_batch,
            "unterminated_line_bytes": self.unterminated,
        }

    def summary(self) -> str:
        d = self.as_dict()
        reasons = ", ".join(f"{k} {v:,}" for k, v in d["rejected_by_reason"].items())
        return (
            f"stream {self.source}: {self.accepted:,} accepted, {self.rejected:,} rejected"
            + (f" ({reasons})" if reasons else "")
            + f" in {self.seconds:.1f} s = {d['events_per_second']:,.0f} events/s; "
            f"{self.batches} batches, {self.files} files, max lag {self.max_lag:.2f} s; "
            f"next sequence number {self.next_seq:,}"
        )


class _Progress:
    def __init__(self, stats: StreamStats, out, every: float = 1.0) -> None:
        self.stats, self.out, self.every = stats, out, every
        self._last, self._events, self._lag = time.monotonic(), 0, 0.0

    def tick(self, lag: float | None, force: bool = False) -> None:
        if lag is not None:
            self._lag = max(self._lag, lag)
        now = time.monotonic()
        if self.out is None or (now - self._last < self.every and not force):
            return
        s = self.stats
        rate = (s.events - self._events) / max(now - self._last, 1e-9)
        self.out.write(
            f"[{s.seconds:7.1f}s] {rate:9,.0f} events/s | accepted {s.accepted:,} | "
            f"rejected {s.rejected:,} | lag {self._lag:.2f} s\n"
        )
        self.out.flush()
        self._last, self._events, self._lag = now, s.events, 0.0


def run_stream(
    source,
    cfg: EventsConfig | None = None,
    *,
    duration: float | None = None,
    stop: threading.Event | None = None,
    validator: Validator | None = None,
    progress=sys.stderr,
) -> StreamStats:
    """Stream ``source`` into the landing zone until it is exhausted, ``duration`` seconds
    pass, or ``stop`` is set. Progress goes to ``progress`` (None: quiet) every second."""
    cfg = cfg or events_config()
    cfg.ensure_dirs()
    stop = stop or threading.Event()
    land_batch = write_batch
    if get_settings().warehouse == "bigquery":  # issue 7 hook: stream to BigQuery instead
        from adw_assets.lib.events.bigquery_sink import bigquery_batch_writer

        land_batch = bigquery_batch_writer()
    if validator is None:
        validator = Validator(cfg.lookback_seconds, cfg.max_clock_skew_seconds)
    warm_up()
    with source_lock(cfg, source.name):
        checkpoint = read_checkpoint(cfg, source.name) or Checkpoint(source=source.name)
        if not source.replayable:
            checkpoint.pending = None
        stats = StreamStats(source=source.name, resumed_at=checkpoint.next_seq)
        resume = checkpoint.pending["start"] if checkpoint.pending else checkpoint.next_seq
        validator.remember(recent_event_ids(cfg, validator.seen_window, (source.name, resume)))
        report = _Progress(stats, progress)
        started = time.monotonic()
        deadline = None if duration is None else started + duration

        def land(pending: dict) -> float:
            if source.replayable:
                checkpoint.pending = pending
                write_checkpoint(cfg, checkpoint)  # write-ahead: the batch can be re-made
            validated = validator.validate(source.replay(pending), now=pending["received_at"])
            files = land_batch(
                cfg, source.name, pending["start"], validated, pending["received_at"]
            )
            checkpoint.next_seq, checkpoint.pending = pending["end"], None
            if "ack" in pending:  # where a file source is, once the batch is acknowledged
                checkpoint.params.update(pending["ack"])
            elif "end_offset" in pending:  # a pending batch of an older adw
                checkpoint.params["offset"] = pending["end_offset"]
            rejected = len(validated.dead)
            checkpoint.accepted += validated.accepted
            checkpoint.rejected += rejected
            checkpoint.batches += 1
            write_checkpoint(cfg, checkpoint)
            stats.accepted += validated.accepted
            stats.rejected += rejected
            stats.reasons.update(d.reason for d in validated.dead)
            stats.batches += 1
            stats.files += len(files)
            lag = time.time() - source.emitted_at(pending)
            stats.max_lag = max(stats.max_lag, lag)
            return lag

        try:
            source.verify(checkpoint)  # a file source: still the file the checkpoint read
            if checkpoint.pending:  # interrupted last time: re-write that batch, identically
                land(checkpoint.pending)
                stats.recovered_batch = True
            source.start(checkpoint)
            paced = source.paced
            next_tick = time.monotonic()
            while not source.exhausted and not stop.is_set():
                if deadline is not None and time.monotonic() >= deadline:
                    break
                pending = source.next_batch(checkpoint.next_seq, time.time())
                if pending is None and source.exhausted:
                    break
                lag = land(pending) if pending else None
                stats.seconds = time.monotonic() - started
                report.tick(lag)
                if paced or pending is None:
                    next_tick += cfg.flush_seconds
                    wait = next_tick - time.monotonic()
                    if wait > 0:
                        stop.wait(
                            wait if deadline is None else min(wait, deadline - time.monotonic())
                        )
                    else:
                        next_tick = time.monotonic()
            if paced and not source.exhausted:  # land what is due up to the stop
                pending = source.next_batch(checkpoint.next_seq, time.time())
                if pending:
                    land(pending)
        finally:
            source.close()
        stats.seconds = time.monotonic() - started
        stats.next_seq = checkpoint.next_seq
        stats.unterminated = source.unterminated if source.exhausted else None
        report.tick(None, force=True)
        return stats
