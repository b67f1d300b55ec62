"""``adw events``: generate web events, stream them into the warehouse's event store (the
landing zone, or the BigQuery table), show its status."""

from __future__ import annotations

import json
import signal
import sys
import threading
import time
from datetime import datetime
from pathlib import Path

import click

from adw_assets.cli._common import echo_table


@click.group(name="events")
def command() -> None:
    """Web events: generate, stream (into the landing zone $ADW_HOME/events, or BigQuery's
    <ADW_RAW_PREFIX>web.events), compact the landing zone, status."""


def _ratio(_ctx, _param, value: float) -> float:
    if not 0.0 <= value <= 1.0:
        raise click.BadParameter("must be between 0 and 1 (e.g. 0.02 for 2% bad events)")
    return value


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)  # stop after the current batch, then summarize
_seed = click.option("--seed", type=int, default=7, show_default=True, help="Generator seed.")
_bad = click.option(
    "--bad-ratio",
    type=float,
    default=0.0,
    show_default=True,
    callback=_ratio,
    help="Share of malformed events injected (every kind), for testing.",
)


@command.command()
@click.option("-n", "--count", type=click.IntRange(min=0), default=1000, show_default=True)
@_seed
@_bad
@click.option(
    "--rate", type=click.FloatRange(min=0.001), default=100.0, show_default=True,
    help="Events per second of event time (spacing of the timestamps).",
)  # fmt: skip
@click.option(
    "--start",
    help="ISO 8601 time of the first event (default: the last event is now).",
)
@click.option("--start-seq", type=click.IntRange(min=0), default=0, show_default=True)
@click.option("-o", "--output", type=click.File("w"), default="-", help="File (default stdout).")
def generate(count, seed, bad_ratio, rate, start, start_seq, output) -> None:
    """Print COUNT events as JSON lines (deterministic for a seed and start time).

    The same events `adw events stream --seed N` produces; pipe them into
    `adw events stream --from-file -` to test an external producer.
    """
    from adw_assets.lib.events.config import events_config
    from adw_assets.lib.events.generator import EventGenerator
    from adw_assets.lib.events.reference import load_reference

    cfg = events_config()
    if start:
        try:
            t0 = datetime.fromisoformat(start).timestamp()
        except ValueError:
            raise click.BadParameter(f"{start!r} is not ISO 8601", param_hint="--start") from None
    else:
        t0 = time.time() - count / rate
    generator = EventGenerator(seed, load_reference(), bad_ratio, cfg.lookback_hours)
    done = 0
    while done < count:
        n = min(10_000, count - done)
        window = (t0 + done / rate, t0 + (done + n) / rate)
        for event in generator.emit(start_seq + done, n, *window):
            output.write((event if isinstance(event, str) else json.dumps(event)) + "\n")
        done += n
    output.flush()


@command.command()
@click.option(
    "--rate", type=click.FloatRange(min=0), default=1000.0, show_default=True,
    help="Generated events per second (0: as fast as possible).",
)  # fmt: skip
@click.option("--duration", type=click.FloatRange(min=0), help="Stop after this many seconds.")
@click.option("-n", "--count", type=click.IntRange(min=1), help="Stop after this many events.")
@_seed
@_bad
@click.option(
    "--from-file",
    "from_file",
    type=click.Path(dir_okay=False, allow_dash=True, path_type=Path),
    help="Ingest JSON lines from this file ('-': stdin) instead of generating. A file is "
    "resumed from its checkpoint; stdin is not (the producer re-delivers; idempotent). A last "
    "line without a newline is not ingested (exit 1): a file's waits for its newline.",
)
@click.option("--source-name", help="Checkpoint name of the stream (default: from seed or file).")
@click.option("-q", "--quiet", is_flag=True, help="No progress lines, only the summary.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
def stream(rate, duration, count, seed, bad_ratio, from_file, source_name, quiet, as_json) -> None:
    """Produce (or read) events, validate and land them until stopped (Ctrl-C, --duration).

    Every second: events/s, accepted, rejected, lag (stderr). Resumes after a crash or kill
    from its checkpoint without losing or duplicating an acknowledged event.
    """
    from adw_assets.errors import ConfigError, LoadError
    from adw_assets.lib.dbt import card_hash_salt
    from adw_assets.lib.events import sources
    from adw_assets.lib.events.config import events_config
    from adw_assets.lib.events.generator import EventGenerator
    from adw_assets.lib.events.landing import warm_up
    from adw_assets.lib.events.reference import load_reference
    from adw_assets.lib.events.store import event_store
    from adw_assets.lib.events.stream import run_stream

    cfg = events_config()
    card_hash_salt()  # dead letters hash IP addresses: a missing salt stops here, in one line
    if source_name is not None and not sources.valid_source_name(source_name):
        raise ConfigError(
            f"--source-name {source_name!r}: use letters, digits, '.', '_' and single '-'."
        )
    if from_file is None:
        generator = EventGenerator(seed, load_reference(), bad_ratio, cfg.lookback_hours)
        source = sources.GeneratorSource(generator, rate=rate, limit=count, name=source_name)
    elif str(from_file) == "-":
        source = sources.StdinSource(name=source_name)
    elif not from_file.is_file():
        raise ConfigError(f"--from-file {from_file}: no such file; give a JSON-lines file or -.")
    else:
        source = sources.FileSource(from_file, name=source_name)
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in _STOP_SIGNALS}
    try:
        warm_up()  # one-off imports before the "streaming" line, so it means "running now"
        where = event_store().where
        click.echo(f"streaming {source.name} into the {where} (Ctrl-C stops)", err=True)
        stats = run_stream(
            source, cfg, duration=duration, stop=stop, progress=None if quiet else sys.stderr
        )
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    click.echo(stats.summary(), err=True)
    if as_json:
        click.echo(json.dumps(stats.as_dict()))
    if stats.unterminated is not None:
        raise LoadError(_unterminated(from_file, stats.unterminated))


def _unterminated(from_file: Path, size: int) -> str:
    """The one line saying that the input ended inside a line, and what to do."""
    if str(from_file) == "-":
        return (
            f"stdin ended inside a line ({size:,} bytes after the last newline): that line was "
            "not ingested; end every event with a newline and send that one again."
        )
    return (
        f"--from-file {from_file}: its last line ({size:,} bytes) has no newline yet: not "
        "ingested; it is when its newline arrives (run this command again then)."
    )


@command.command()
@click.option("--json", "as_json", is_flag=True, help="Print the status as JSON.")
def status(as_json: bool) -> None:
    """Accepted events where the warehouse keeps them (the landing zone, or the BigQuery table),
    dead letters by reason, stream checkpoints."""
    from adw_assets.lib.events.config import events_config
    from adw_assets.lib.events.status import landing_status
    from adw_assets.lib.events.store import event_store

    cfg = events_config()
    st = landing_status(cfg)  # dead letters and checkpoints stay local on either warehouse
    store = event_store()
    held = store.metadata()  # metadata only: no query, free on BigQuery
    events = int(held.get("events", 0))
    newest = held.get("newest_batch_at")
    age = None if newest is None else round(time.time() - newest, 1)
    total = events + st.dead_letters
    ratio = st.dead_letters / total if total else 0.0
    summary = {
        "store": store.where,
        "landing_dir": str(cfg.landing_dir),
        "files": st.files,
        "events": events,
        "event_dates": st.partitions,
        "newest_batch_age_seconds": age,
        "dead_letters": st.dead_letters,
        "dead_letter_ratio": round(ratio, 6),
        "max_dead_letter_ratio": cfg.max_dead_letter_ratio,
        "dead_letters_by_reason": st.dead_by_reason,
        "streams": [
            {"source": c.source, "next_seq": c.next_seq, "accepted": c.accepted,
             "rejected": c.rejected, "batches": c.batches, "pending": c.pending is not None}
            for c in st.checkpoints
        ],
    }  # fmt: skip
    if "streaming_buffer_rows" in held:
        summary["streaming_buffer_rows"] = held["streaming_buffer_rows"]
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    click.echo(store.where)
    if "streaming_buffer_rows" in held:
        buffered = held["streaming_buffer_rows"]
        click.echo(f"  {events:,} events ({buffered:,} in the streaming buffer)")
    else:
        click.echo(f"  {st.files:,} files, {events:,} events, dates {', '.join(st.partitions)}")
    click.echo(f"  newest batch {'never' if age is None else f'{age} s ago'}")
    click.echo(
        f"  dead letters {st.dead_letters:,} in {cfg.dead_letter_dir} (ratio {ratio:.4f}, "
        f"threshold {cfg.max_dead_letter_ratio})"
    )
    if st.dead_by_reason:
        echo_table(sorted(st.dead_by_reason.items()), ("reason", "events"))
    if st.checkpoints:
        click.echo("")
        echo_table(
            [(c.source, c.next_seq, c.accepted, c.rejected, c.batches) for c in st.checkpoints],
            ("stream", "next seq", "accepted", "rejected", "batches"),
        )


@command.command()
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON on stdout.")
def compact(as_json: bool) -> None:
    """Rewrite the micro-batches of each closed hour of the landing zone into one file per
    hour (atomic, lossless, safe while streaming and reading), finish an interrupted
    compaction, and delete replaced micro-batches older than
    ADW_EVENTS_COMPACTED_RETENTION_HOURS."""
    from adw_assets.lib.events.compact import compact as run
    from adw_assets.lib.events.config import events_config
    from adw_assets.settings import get_settings

    if get_settings().warehouse == "bigquery":
        click.echo("nothing to compact: web events stream into BigQuery, not a landing zone")
        return
    summary = run(events_config(), progress=lambda line: click.echo(line, err=True))
    click.echo(summary.line(), err=True)
    if as_json:
        click.echo(json.dumps(summary.as_dict()))
