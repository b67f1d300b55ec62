"""Web events: generator, validation, landing zone, dead letters and the streamer (no Dagster).

Entry points: ``burst`` (a short burst so the web marts are never empty; ``adw up`` calls it),
``run_stream`` with a source from ``sources``, and ``status``.
"""

from __future__ import annotations

import time

from adw_assets.lib.events.config import events_config


def burst(n_events: int = 2000, seed: int = 7, hours: float = 6.0) -> dict:
    """Generate and land ``n_events`` clean events spread over the last ``hours`` (capped
    below the lookback, so the incremental models take them all). Returns the stream summary.

    Each call continues the sequence of stream ``burst-s<seed>``: new event ids every time.
    """
    from adw_assets.lib.events.generator import EventGenerator
    from adw_assets.lib.events.reference import load_reference
    from adw_assets.lib.events.sources import GeneratorSource
    from adw_assets.lib.events.stream import run_stream

    cfg = events_config()
    generator = EventGenerator(seed, load_reference(), 0.0, cfg.lookback_hours, stream="burst")
    now = time.time()
    span = max(60.0, min(hours, cfg.lookback_hours - 1.0) * 3600.0)
    source = GeneratorSource(generator, limit=n_events, window=(now - span, now))
    stats = run_stream(source, cfg, progress=None)
    return stats.as_dict() | {"reference": generator.reference.origin}
