"""Dead letters as they are stored: no IP address, bounded size, private files, kept N days.

A rejected event is written (``landing.write_batch``) as one JSON line made by
:func:`dead_letter_record`:

* every IP address is replaced by ``sha256:<hex>``, where ``<hex>`` is the salted hash that
  staging computes (``ip_address_hash`` of ``stg_web__events``: SHA-256 of the card-hash salt
  followed by the address, :func:`adw_assets.lib.dbt.card_hash_salt`): the value of every
  ``ip_address`` field whatever it holds, and any other text that reads as an IPv4 or IPv6
  address, in the payload, the detail and the field name;
* the payload is cut to :data:`PAYLOAD_BYTES`, its original length kept in ``payload_bytes``;
* files are 0600 in 0700 directories, and :func:`expire_dead_letters` deletes the files of
  the days older than ``ADW_EVENTS_DEAD_LETTER_RETENTION_DAYS`` (a Dagster schedule runs it).
"""

from __future__ import annotations

import contextlib
import hashlib
import ipaddress
import json
import os
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from adw_assets.lib.events.config import EventsConfig
from adw_assets.lib.events.validate import DeadLetter

PAYLOAD_BYTES = 4096
"""Bytes of a rejected payload kept in its dead letter (cut at a character boundary)."""
TEXT_BYTES = 512
"""Bytes kept of a dead letter's ``field`` and ``detail``."""
_MARGIN = 64  # characters scanned past a cut (an address has at most 45)
IP_FIELD = "ip_address"
"""The event field staging hashes (``salted_hash``): never in clear in a dead letter (accepted
events land it in clear; staging hashes it, docs/security.md)."""
DAY_DIR = re.compile(r"received_date=(\d{4}-\d{2}-\d{2})")

# what may be an address (then checked by ipaddress): IPv6-like (two colons or more) or
# IPv4-like; bounded repeats only, so a long or hostile text is scanned in linear time
_CANDIDATE = re.compile(r"(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f.]{0,15}|\d{1,3}(?:\.\d{1,3}){3}")
_IPV4 = re.compile(r"(?<!\d)(?:\d{1,3}\.){3}\d{1,3}(?!\d)")
_IP_VALUE = re.compile(rf'("{IP_FIELD}"\s*:\s*)("(?:[^"\\]|\\.)*"?|[^,}}\]\s]*)')


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


class IpRedactor:
    """Replaces IP addresses by their salted hash (staging's ``ip_address_hash``)."""

    def __init__(self, salt: str) -> None:
        self.salt = salt

    def token(self, value: str) -> str:
        return "sha256:" + hashlib.sha256((self.salt + value).encode("utf-8")).hexdigest()

    def text(self, text: str | None, limit: int = TEXT_BYTES) -> str | None:
        """``text`` with every substring that reads as an IP address replaced, cut to ``limit``
        UTF-8 bytes."""
        return self._cut(text, limit)[0] if text else text

    def _cut(self, text: str, limit: int) -> tuple[str, bool]:
        # only what is kept is scanned (a hostile 64 KiB line costs no more than a small one),
        # plus a margin: an address across the cut is found whole, then cut away
        scanned = text[: limit + _MARGIN]
        out, cut = truncate_utf8(_CANDIDATE.sub(self._run, scanned), limit)
        return out, cut or len(scanned) < len(text)

    def _run(self, match: re.Match) -> str:
        run = match.group(0)
        for candidate in (run, run.rstrip(".")):
            if _is_ip(candidate):
                return self.token(candidate) + run[len(candidate) :]
        return _IPV4.sub(lambda m: self.token(m[0]) if _is_ip(m[0]) else m[0], run)

    def payload(self, text: str, limit: int = PAYLOAD_BYTES) -> tuple[str, bool]:
        """The payload with the ``ip_address`` values hashed (a JSON document is re-serialized;
        in other text the field is matched), every other address replaced, cut to ``limit``
        bytes; whether it was cut."""
        try:
            text = json.dumps(self._walk(json.loads(text)), ensure_ascii=False)
        except (ValueError, RecursionError):
            head = text[: limit + _MARGIN]
            text = _IP_VALUE.sub(self._field_value, head) + text[len(head) :]
        return self._cut(text, limit)

    def _field_value(self, match: re.Match) -> str:
        raw = match.group(2)
        value = raw[1:-1] if len(raw) >= 2 and raw.endswith('"') else raw.lstrip('"')
        return f'{match.group(1)}"{self.token(value)}"'

    def _walk(self, node):
        if isinstance(node, dict):
            walk = self._walk
            return {k: self._hash_value(v) if k == IP_FIELD else walk(v) for k, v in node.items()}
        if isinstance(node, list):
            return [self._walk(v) for v in node]
        return node

    def _hash_value(self, value) -> str:
        return self.token(value if isinstance(value, str) else json.dumps(value))


def truncate_utf8(text: str, limit: int = PAYLOAD_BYTES) -> tuple[str, bool]:
    """``text`` cut to at most ``limit`` UTF-8 bytes (whole characters); whether it was cut."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text, False
    return data[:limit].decode("utf-8", "ignore"), True


def dead_letter_record(
    dead: DeadLetter, redactor: IpRedactor, source: str, batch_id: str, received_at: str
) -> dict:
    """The stored form of a dead letter: no address in clear, the payload cut to size."""
    payload, truncated = redactor.payload(dead.payload)
    return {
        "reason": dead.reason,
        "field": redactor.text(dead.field),
        "detail": redactor.text(dead.detail),
        "source": source,
        "batch_id": batch_id,
        "received_at": received_at,
        "payload": payload,
        "payload_bytes": dead.size,
        "payload_truncated": truncated,
    }


@dataclass
class Expired:
    files: list[Path] = field(default_factory=list)
    days: list[str] = field(default_factory=list)
    kept_days: int = 0


def expire_dead_letters(cfg: EventsConfig, now: datetime | None = None) -> Expired:
    """Delete the dead-letter files of every received day that ended more than
    ``cfg.dead_letter_retention_days`` ago, then their empty directories.

    A file holds the rejected events of one batch, all received at the same instant on the
    day of its directory, so a file is deleted whole (``unlink``, atomic) only when every letter
    in it has expired; newer files are never opened.
    """
    now = now or datetime.now(UTC)
    cutoff = now - timedelta(days=cfg.dead_letter_retention_days)
    out = Expired()
    if not cfg.dead_letter_dir.is_dir():
        return out
    for directory in sorted(cfg.dead_letter_dir.iterdir()):
        match = DAY_DIR.fullmatch(directory.name)
        if not match or not directory.is_dir():
            continue
        day_end = datetime.fromisoformat(match[1]).replace(tzinfo=UTC) + timedelta(days=1)
        if day_end > cutoff:
            out.kept_days += 1
            continue
        for path in sorted(directory.iterdir()):
            leftover = path.name.startswith(".") and path.name.endswith(".tmp")
            if path.suffix == ".jsonl" or leftover:  # a crashed write's temp file, as old
                with contextlib.suppress(FileNotFoundError):
                    path.unlink()
                    out.files.append(path)
        with contextlib.suppress(OSError):  # not empty: a file this did not write, kept
            directory.rmdir()
            out.days.append(match[1])
    return out


def private_dir(path: Path) -> None:
    """Create ``path`` (and parents) and make it 0700: dead letters are for their owner."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
