"""What ``adw replicate --follow`` has applied, in a small file under ``ADW_HOME``, so that
Dagster's sensor learns of it without opening the warehouse (DuckDB's one writer lock belongs
to the follower and to the dbt build).

``$ADW_HOME/replication/cdc_follow.json``, rewritten (temp file, fsync, rename) when the
follower starts and after every acknowledged micro-batch that changed a stream::

    {"lsn": 23847192, "updated_at": "2025-06-01T12:00:00.1+00:00", "pid": 4242,
     "streams": {"sales.salesorderheader": 23847192, "sales.creditcard": 23710016, ...}}

``streams`` holds, per stream, the LSN stored with its last applied change (the warehouse's
``_adw_cdc_state``, the position the follower resumes from), so a stream changed in any batch
since a reader's last look has an LSN above the ``lsn`` that reader saw then. The follower
writes it from the stored positions when it starts, so a follower killed between a warehouse
commit and the file's rename still reports that commit when it restarts.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from adw_assets.lib.events.landing import atomic_write_text

FILE = Path("replication") / "cdc_follow.json"


def progress_path(home: Path) -> Path:
    """The follower's progress file in ``ADW_HOME``."""
    return home / FILE


@dataclass(frozen=True)
class Progress:
    lsn: int
    """The highest position applied to any stream."""
    streams: dict[str, int]
    """``schema.table`` -> the LSN stored with its last applied change."""
    updated_at: datetime
    pid: int | None = None

    def changed_since(self, lsn: int | None) -> list[str]:
        """The streams that changed after position ``lsn`` (all of them for None, or when the
        file went backwards: another source server, whose positions do not compare)."""
        if lsn is None or self.lsn < lsn:
            return sorted(self.streams)
        return sorted(name for name, at in self.streams.items() if at > lsn)


def write(path: Path, streams: dict[str, int]) -> Progress:
    """Record ``streams`` (atomically and durably) and return what was written."""
    progress = Progress(
        lsn=max(streams.values(), default=0),
        streams=dict(sorted(streams.items())),
        updated_at=datetime.now(UTC),
        pid=os.getpid(),
    )
    payload = {
        "lsn": progress.lsn,
        "updated_at": progress.updated_at.isoformat(),
        "pid": progress.pid,
        "streams": progress.streams,
    }
    atomic_write_text(path, json.dumps(payload, indent=1) + "\n", mode=0o600)
    return progress


def read(path: Path) -> Progress | None:
    """The progress recorded at ``path``; None when no follower has written it yet. A file
    that is not what :func:`write` writes raises ``ValueError`` naming it."""
    try:
        payload = json.loads(path.read_text())
        return Progress(
            lsn=int(payload["lsn"]),
            streams={str(k): int(v) for k, v in payload["streams"].items()},
            updated_at=datetime.fromisoformat(payload["updated_at"]),
            pid=payload.get("pid"),
        )
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ValueError(
            f"{path} is not a progress file of `adw replicate --follow` ({exc}); delete it, "
            "the follower writes it again when it starts."
        ) from exc
