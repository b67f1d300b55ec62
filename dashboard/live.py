"""The live panel's data: web events read straight from the Parquet landing zone.

The event stream writes micro-batches atomically (temp file + rename) under
``$ADW_HOME/events/landing/event_date=YYYY-MM-DD/*.parquet``; a file, once visible, never
changes. :class:`LiveEvents` loads each new file once into an in-memory DuckDB table keyed on
``event_id`` (repeated deliveries are ignored), keeping the recent partitions only, so a refresh
costs the new files, not the whole zone. It never opens the warehouse.

The live panel counts raw events of the last minutes, which the semantic layer (over the built
``fct_web_events``) has not seen yet: its few aggregates (:meth:`LiveEvents.kpis`,
:meth:`LiveEvents.by_minute`) are the one place of the dashboard with SQL of its own.
"""

from __future__ import annotations

import logging
import threading
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb
import pandas as pd

from adw_assets.lib.semantic import Show

LIVE_EVENTS = "live_events"
"""In-memory table: landing-zone events deduplicated on event_id."""
LIVE_MEASURES = {
    m.name: m
    for m in (
        Show("live_events", "Events", ""),
        Show("live_sessions", "Sessions", ""),
        Show("live_web_orders", "Web orders", ""),
        Show("live_order_value", "Web order value", "", "currency"),
        Show("live_last_event_at", "Last event", "", "time"),
    )
}
_KPIS = f"""
select
    count(*) as live_events,
    count(distinct session_id) as live_sessions,
    count(*) filter (where order_value > 0) as live_web_orders,
    coalesce(round(sum(order_value), 2), 0) as live_order_value,
    max(event_at) as live_last_event_at
from {LIVE_EVENTS}
where event_at >= ?
"""
_BY_MINUTE = f"""
select
    date_trunc('minute', event_at) as live_minute,
    count(*) as live_events,
    count(distinct session_id) as live_sessions,
    count(*) filter (where order_value > 0) as live_web_orders
from {LIVE_EVENTS}
where event_at >= ?
group by 1
order by 1
"""

log = logging.getLogger(__name__)

_DDL = f"""
create table {LIVE_EVENTS} (
    event_id varchar primary key,
    event_at timestamptz,
    session_id varchar,
    country varchar,
    device_type varchar,
    order_value double
)
"""
_INSERT = f"""
insert or ignore into {LIVE_EVENTS}
select
    cast(event_id as varchar),
    cast("timestamp" as timestamptz),
    cast(session_id as varchar),
    cast(country as varchar),
    cast(device_type as varchar),
    cast(order_value as double)
from read_parquet(?, union_by_name = true)
"""


def _partition_date(path: Path) -> date | None:
    _, _, value = path.name.partition("event_date=")
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


class LiveEvents:
    """Recent landing-zone events, deduplicated on ``event_id``, in memory.

    ``horizon_hours`` bounds what is kept (partitions older than that are not read); the
    live panel shows at most the last 24 hours.
    """

    def __init__(self, landing_dir: Path | str, horizon_hours: float = 48.0) -> None:
        self.landing_dir = Path(landing_dir)
        self.horizon = timedelta(hours=horizon_hours)
        self._con = duckdb.connect(":memory:")
        self._con.execute("set TimeZone = 'UTC'")
        self._con.execute(_DDL)
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[int, int]] = {}
        """path -> (mtime_ns, size) of the files loaded; a batch re-written after a crash of
        the streamer (same name, same events) is read again and its duplicates ignored."""

    def _new_files(self, now: datetime) -> dict[str, tuple[int, int]]:
        if not self.landing_dir.is_dir():
            return {}
        oldest = (now - self.horizon).date()
        files = {}
        for part in self.landing_dir.iterdir():
            day = _partition_date(part)
            if day is None or day < oldest or not part.is_dir():
                continue
            for f in part.iterdir():
                # the writer's temp files start with "." and end in ".tmp": not complete yet
                if f.suffix != ".parquet" or f.name[0] in "._":
                    continue
                try:
                    st = f.stat()
                except FileNotFoundError:
                    continue
                stamp = (st.st_mtime_ns, st.st_size)
                if self._seen.get(str(f)) != stamp:
                    files[str(f)] = stamp
        return dict(sorted(files.items()))

    def refresh(self, now: datetime | None = None) -> int:
        """Load the files that appeared since the last call; returns how many."""
        now = now or datetime.now(UTC)
        with self._lock:
            files = self._new_files(now)
            if not files:
                return 0
            try:
                self._con.execute(_INSERT, [list(files)])
                loaded = list(files)
            except (duckdb.IOException, duckdb.InvalidInputException):
                loaded = []  # a file vanished (retention) or is unreadable: go one by one
                for f in files:
                    try:
                        self._con.execute(_INSERT, [[f]])
                        loaded.append(f)
                    except (duckdb.IOException, duckdb.InvalidInputException) as exc:
                        log.warning("live panel: skipping %s: %s", f, exc)
                        if Path(f).exists():  # unreadable: not again until it is re-written
                            self._seen[f] = files[f]
            self._seen.update({f: files[f] for f in loaded})
            self._con.execute(f"delete from {LIVE_EVENTS} where event_at < ?", [now - self.horizon])
            return len(loaded)

    def query(self, sql: str, params: list[object] | None = None) -> pd.DataFrame:
        cur = self._con.cursor()
        cur.execute("set TimeZone = 'UTC'")
        return cur.execute(sql, params or []).df()

    def kpis(self, since: datetime) -> pd.Series:
        """Events, sessions, web orders, order value and the last event time since ``since``."""
        return self.query(_KPIS, [since]).iloc[0]

    def by_minute(self, since: datetime) -> pd.DataFrame:
        """Events, sessions and web orders per minute since ``since``."""
        return self.query(_BY_MINUTE, [since])
