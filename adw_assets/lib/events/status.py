"""What is in the landing zone: files, events, dead letters by reason, stream checkpoints.

Reads the files only (DuckDB in memory, never the warehouse), so it is safe while streaming.
"""

from __future__ import annotations

import contextlib
import os
from dataclasses import dataclass, field

import duckdb

from adw_assets.lib.events.config import EventsConfig, events_config
from adw_assets.lib.events.landing import Checkpoint, list_checkpoints


@dataclass
class LandingStatus:
    files: int = 0
    events: int = 0
    partitions: list[str] = field(default_factory=list)
    newest_batch_at: float | None = None
    dead_letters: int = 0
    dead_by_reason: dict[str, int] = field(default_factory=dict)
    checkpoints: list[Checkpoint] = field(default_factory=list)

    @property
    def dead_letter_ratio(self) -> float:
        total = self.events + self.dead_letters
        return self.dead_letters / total if total else 0.0


def newest_batch_mtime(cfg: EventsConfig | None = None) -> float | None:
    """Modification time of the newest landing partition directory (a rename into a
    directory updates its mtime): a cheap "did a batch land?" signal for the sensor."""
    cfg = cfg or events_config()
    newest = None
    with contextlib.suppress(FileNotFoundError):
        for entry in os.scandir(cfg.landing_dir):
            if entry.is_dir() and entry.name.startswith("event_date="):
                mtime = entry.stat().st_mtime
                newest = mtime if newest is None else max(newest, mtime)
    return newest


def landing_status(cfg: EventsConfig | None = None) -> LandingStatus:
    """Counts over the whole landing zone and dead-letter store."""
    cfg = cfg or events_config()
    status = LandingStatus(checkpoints=list_checkpoints(cfg))
    files = sorted(cfg.landing_dir.glob("*/*.parquet")) if cfg.landing_dir.exists() else []
    status.files = len(files)
    status.partitions = sorted({p.parent.name.split("=", 1)[-1] for p in files})
    status.newest_batch_at = newest_batch_mtime(cfg)
    dead_files = list(cfg.dead_letter_dir.glob("*/*.jsonl")) if cfg.dead_letter_dir.exists() else []
    with duckdb.connect() as con:
        if files:
            paths = [str(p) for p in files]
            status.events = con.execute("select count(*) from read_parquet(?)", [paths]).fetchone()[
                0
            ]
        if dead_files:
            rows = con.execute(
                "select reason, count(*) from read_json(?, format = 'newline_delimited', "
                "columns = {'reason': 'varchar'}) group by 1 order by 2 desc",
                [[str(p) for p in dead_files]],
            ).fetchall()
            status.dead_by_reason = dict(rows)
            status.dead_letters = sum(status.dead_by_reason.values())
    return status
