"""Settings of the web-event feature, read through ``get_settings()`` (never ``os.environ``).

* ``ADW_EVENTS_LOOKBACK_HOURS`` (24): how late an event may arrive and still be accepted
  (older ones are dead-lettered as ``too_late``) and re-read by the incremental model.
* ``ADW_EVENTS_MAX_CLOCK_SKEW_SECONDS`` (300): how far in the future a timestamp may be.
* ``ADW_EVENTS_FLUSH_SECONDS`` (1.0): micro-batch interval of ``adw events stream``.
* ``ADW_EVENTS_MAX_DEAD_LETTER_RATIO`` (0.05): the Dagster check fails above this ratio.
* ``ADW_EVENTS_FRESHNESS_MINUTES`` (60): the freshness policy fails when no batch landed for
  this long.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

from adw_assets.errors import ConfigError
from adw_assets.settings import Settings, get_settings


@dataclass(frozen=True)
class EventsConfig:
    events_dir: Path
    lookback_hours: float
    max_clock_skew_seconds: float
    flush_seconds: float
    max_dead_letter_ratio: float
    freshness_minutes: float

    @property
    def landing_dir(self) -> Path:
        return self.events_dir / "landing"

    @property
    def dead_letter_dir(self) -> Path:
        return self.events_dir / "dead_letter"

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


def _number(settings: Settings, name: str, default: float, low: float, high: float) -> float:
    raw = settings.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not a number; set it to e.g. {default}.") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise ConfigError(f"{name}={raw!r} is out of range; use a value from {low} to {high}.")
    return value


def events_config(settings: Settings | None = None) -> EventsConfig:
    settings = settings or get_settings()
    return EventsConfig(
        events_dir=settings.events_dir,
        lookback_hours=_number(settings, "ADW_EVENTS_LOOKBACK_HOURS", 24.0, 1.0, 24.0 * 366),
        max_clock_skew_seconds=_number(
            settings, "ADW_EVENTS_MAX_CLOCK_SKEW_SECONDS", 300.0, 0.0, 86_400.0
        ),
        flush_seconds=_number(settings, "ADW_EVENTS_FLUSH_SECONDS", 1.0, 0.05, 60.0),
        max_dead_letter_ratio=_number(settings, "ADW_EVENTS_MAX_DEAD_LETTER_RATIO", 0.05, 0.0, 1.0),
        freshness_minutes=_number(settings, "ADW_EVENTS_FRESHNESS_MINUTES", 60.0, 1.0, 525_600.0),
    )
