"""LiveEvents: the landing zone read incrementally, deduplicated on event_id."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from adw_assets.dashboard.live import LiveEvents
from tests.dashboard.conftest import write_events


def _kpis(live: LiveEvents, since: datetime | None = None):
    return live.kpis(since or datetime(1970, 1, 1, tzinfo=UTC))


def test_new_files_are_loaded_once_and_duplicates_ignored(tmp_path):
    landing = tmp_path / "landing"
    live = LiveEvents(landing)
    assert live.refresh() == 0  # no landing zone yet: nothing, no error
    ids = [str(uuid.uuid4()) for _ in range(40)]
    write_events(landing, 40, ids=ids)
    assert live.refresh() == 1
    assert _kpis(live)["live_events"] == 40
    assert _kpis(live)["live_web_orders"] == 4
    assert _kpis(live)["live_order_value"] == 50.0
    # a repeated delivery (the same ids in another file) and a new batch
    write_events(landing, 20, ids=ids[:20])
    write_events(landing, 10)
    assert live.refresh() == 2
    assert _kpis(live)["live_events"] == 50
    assert live.refresh() == 0  # nothing new: nothing read


def test_temp_files_and_old_partitions_are_not_read(tmp_path):
    landing = tmp_path / "landing"
    now = datetime.now(UTC)
    part = write_events(landing, 5).parent
    (part / ".part-x.parquet.1234.tmp").write_bytes(b"partial")
    (part / ".part-y.parquet").write_bytes(b"partial")
    write_events(landing, 7, at=now - timedelta(days=5))
    live = LiveEvents(landing, horizon_hours=48)
    assert live.refresh(now) == 1
    assert _kpis(live)["live_events"] == 5


def test_a_corrupt_file_is_skipped_not_fatal(tmp_path):
    landing = tmp_path / "landing"
    good = write_events(landing, 3)
    (good.parent / "part-broken.parquet").write_bytes(b"not parquet")
    live = LiveEvents(landing)
    assert live.refresh() == 1
    assert _kpis(live)["live_events"] == 3
    assert live.refresh() == 0  # not retried until it changes


def test_window_and_minutes(tmp_path):
    landing = tmp_path / "landing"
    now = datetime.now(UTC).replace(second=40, microsecond=0)
    write_events(landing, 6, at=now - timedelta(minutes=30))
    write_events(landing, 9, at=now)
    live = LiveEvents(landing)
    live.refresh(now)
    assert _kpis(live, now - timedelta(minutes=15))["live_events"] == 9
    assert _kpis(live)["live_events"] == 15
    by_minute = live.by_minute(datetime(1970, 1, 1, tzinfo=UTC))
    assert by_minute["live_events"].sum() == 15
    assert len(by_minute) >= 2
