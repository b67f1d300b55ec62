"""The web-event settings as one object: the landing-zone paths and the ``ADW_EVENTS_*`` values
that :mod:`adw_assets.settings` declares and validates (lookback, clock skew, flush interval,
dead-letter ratio, freshness, dead-letter retention, retention of compacted micro-batches).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from adw_assets.settings import Settings, get_settings


@dataclass(frozen=True)
class EventsConfig:
    events_dir: Path
    lookback_hours: float
    max_clock_skew_seconds: float
    flush_seconds: float
    max_dead_letter_ratio: float
    freshness_minutes: float
    dead_letter_retention_days: int
    compacted_retention_hours: float

    @property
    def landing_dir(self) -> Path:
        return self.events_dir / "landing"

    @property
    def dead_letter_dir(self) -> Path:
        return self.events_dir / "dead_letter"

    @property
    def compaction_dir(self) -> Path:
        """The compactor's work: its lock, journals, and partitions being built."""
        return self.events_dir / "compaction"

    @property
    def compacted_dir(self) -> Path:
        """Micro-batches replaced by a compaction, kept ``compacted_retention_hours``."""
        return self.events_dir / "compacted"

    @property
    def checkpoint_dir(self) -> Path:
        return self.events_dir / "checkpoints"

    @property
    def lookback_seconds(self) -> float:
        return self.lookback_hours * 3600.0

    @property
    def landing_glob(self) -> str:
        """The files a reader globs (hive partitioning on ``event_date``)."""
        return str(self.landing_dir / "*" / "*.parquet")

    def ensure_dirs(self) -> None:
        for path in (self.landing_dir, self.dead_letter_dir, self.checkpoint_dir):
            path.mkdir(parents=True, exist_ok=True)
        self.dead_letter_dir.chmod(0o700)  # rejected payloads are for the owner only


def events_config(settings: Settings | None = None) -> EventsConfig:
    settings = settings or get_settings()
    return EventsConfig(events_dir=settings.events_dir, **settings.group("events_"))
