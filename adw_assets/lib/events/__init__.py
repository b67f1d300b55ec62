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


def history(
    start: float,
    seconds: float,
    n_events: int,
    *,
    batch_seconds: float = 1.0,
    seed: int = 11,
    source: str = "history",
) -> int:
    """Land ``n_events`` clean events as a stream would have from ``start`` (epoch s) for
    ``seconds``: one micro-batch per ``batch_seconds`` of that past clock, stamped with its
    arrival (for the compaction tests and ``bench/compaction.py``). Returns the files written.
    """
    from adw_assets.lib.events.generator import EventGenerator
    from adw_assets.lib.events.landing import write_batch
    from adw_assets.lib.events.reference import load_reference
    from adw_assets.lib.events.validate import Validator

    cfg = events_config()
    cfg.ensure_dirs()
    generator = EventGenerator(seed, load_reference(), 0.0, cfg.lookback_hours, stream=source)
    validator = Validator(lookback_seconds=None, seen_window=1)
    batches = max(1, round(seconds / batch_seconds))
    seq = files = 0
    for i in range(batches):
        n = n_events * (i + 1) // batches - n_events * i // batches
        if not n:
            continue
        t0 = start + i * batch_seconds
        events = generator.emit(seq, n, t0, t0 + batch_seconds)
        validated = validator.validate(events, now=t0 + batch_seconds)
        files += len(write_batch(cfg, source, seq, validated, t0 + batch_seconds))
        seq += n
    return files
