"""Validation of incoming events: schema, types and ranges, with tight per-field checks.

``Validator.validate`` takes raw payloads (JSON text lines or already-parsed objects) and
returns the accepted events as columns (ready for Arrow) and the rejected ones as dead letters
carrying a reason code (see ``schema.REASONS``), the original payload and its size. It never
raises on bad input: every failure is a dead letter. Messages (``detail``) never quote the IP
address; ``dead_letters`` redacts and cuts what is stored.
"""

from __future__ import annotations

import ipaddress
import json
import math
import re
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from adw_assets.lib.events.lines import TooLarge
from adw_assets.lib.events.schema import (
    DEVICE_TYPES,
    FIELDS,
    MAX_DURATION_SECONDS,
    MAX_LINE_BYTES,
    MAX_ORDER_VALUE,
    REQUIRED,
)

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")
_IPV4 = re.compile(
    r"(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
)
_FIELD_SET = frozenset(FIELDS)
_DEVICES = frozenset(DEVICE_TYPES)
_STRINGS = (("session_id", 128), ("page_url", 2048), ("user_agent", 1024), ("country", 64))


@dataclass
class DeadLetter:
    reason: str
    field: str | None
    detail: str
    payload: str
    """The original payload as received (JSON text; a parsed object is re-serialized; the
    first bytes of a line over the size limit)."""
    size: int = 0
    """Bytes of the payload as received (of the whole line when it was over the limit)."""


@dataclass
class Validated:
    columns: dict[str, list] = field(default_factory=lambda: {name: [] for name in FIELDS})
    """Accepted events; ``timestamp`` holds epoch microseconds (UTC)."""
    dead: list[DeadLetter] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return len(self.columns["event_id"])


class _Reject(Exception):  # control flow only, never escapes this module
    def __init__(self, reason: str, field_name: str | None, detail: str) -> None:
        self.reason, self.field, self.detail = reason, field_name, detail


def _text(payload) -> str:
    if isinstance(payload, str):
        return payload
    if isinstance(payload, bytes):
        return payload.decode("utf-8", "replace")
    if isinstance(payload, TooLarge):
        return payload.head.decode("utf-8", "replace")
    try:
        return json.dumps(payload, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(payload)


@lru_cache(maxsize=8192)  # a visitor's address repeats over the page views of a session
def _is_ipv6(text: str) -> bool:
    try:
        ipaddress.IPv6Address(text)
    except ValueError:
        return False
    return True


def _size(payload, text: str) -> int:
    if isinstance(payload, TooLarge):
        return payload.size
    if isinstance(payload, bytes):
        return len(payload)
    return len(text.encode("utf-8", "replace"))


def _number(event: dict, name: str) -> float:
    value = event[name]
    if type(value) is float:
        if not math.isfinite(value):
            raise _Reject("out_of_range", name, f"{name} is not finite")
        return value
    if type(value) is int:
        return float(value)
    raise _Reject("wrong_type", name, f"{name} must be a number, got {type(value).__name__}")


class Validator:
    """Validates batches; remembers the last ``seen_window`` accepted ids to catch repeats.

    ``lookback_seconds=None`` disables the lateness check (historical backfills).
    """

    def __init__(
        self,
        lookback_seconds: float | None = 24 * 3600.0,
        max_skew_seconds: float = 300.0,
        seen_window: int = 100_000,
    ) -> None:
        self.lookback_seconds = lookback_seconds
        self.max_skew_seconds = max_skew_seconds
        self.seen_window = seen_window
        self._seen: set[str] = set()
        self._order: deque[str] = deque()

    def remember(self, event_ids) -> None:
        """Mark ids as already accepted (restart: the ids of the latest landed batches)."""
        for event_id in event_ids:
            self._remember(event_id)

    def _remember(self, event_id: str) -> None:
        if event_id in self._seen:
            return
        self._seen.add(event_id)
        self._order.append(event_id)
        if len(self._order) > self.seen_window:
            self._seen.discard(self._order.popleft())

    def validate(self, payloads, now: float) -> Validated:
        """Check each payload; ``now`` (epoch seconds) is the ingestion clock for ranges."""
        out = Validated()
        cols = out.columns
        low = None if self.lookback_seconds is None else now - self.lookback_seconds
        high = now + self.max_skew_seconds
        batch_ids: set[str] = set()
        rows: list[tuple] = []
        for payload in payloads:
            try:
                event = self._parse(payload)
                row = self._check(event, low, high)
                event_id = row[0]
                if event_id in self._seen or event_id in batch_ids:
                    raise _Reject("duplicate_event_id", "event_id", f"{event_id} already accepted")
            except _Reject as exc:
                text = _text(payload)
                dead = DeadLetter(exc.reason, exc.field, exc.detail, text, _size(payload, text))
                out.dead.append(dead)
                continue
            except Exception as exc:  # a safety net: bad input never stops the stream
                detail = f"{type(exc).__name__}: {exc}"[:200]
                text = _text(payload)
                out.dead.append(
                    DeadLetter("invalid_event", None, detail, text, _size(payload, text))
                )
                continue
            batch_ids.add(event_id)
            rows.append(row)
        if rows:  # rows -> columns in one C-level transpose
            for name, column in zip(FIELDS, zip(*rows, strict=True), strict=True):
                cols[name] = list(column)
        for event_id in cols["event_id"]:
            self._remember(event_id)
        return out

    @staticmethod
    def _parse(payload) -> dict:
        if isinstance(payload, dict):
            return payload
        if isinstance(payload, TooLarge):
            raise _Reject(
                "too_large", None, f"a line of {payload.size:,} bytes, over {MAX_LINE_BYTES:,}"
            )
        if isinstance(payload, bytes | str):
            if len(payload) > MAX_LINE_BYTES:
                raise _Reject("too_large", None, f"payload over {MAX_LINE_BYTES} bytes")
            try:
                payload = json.loads(payload)
            except (ValueError, UnicodeDecodeError) as exc:
                raise _Reject("invalid_json", None, str(exc)[:200]) from None
        if not isinstance(payload, dict):
            raise _Reject("not_an_object", None, f"a JSON {type(payload).__name__}, not an object")
        return payload

    @staticmethod
    def _check(event: dict, low: float | None, high: float) -> tuple:
        if len(event) != len(FIELDS) or not _FIELD_SET.issuperset(event):
            for name in REQUIRED:
                if name not in event:
                    raise _Reject("missing_field", name, f"{name} is required")
            extra = sorted(set(event) - _FIELD_SET)
            if extra:
                raise _Reject("unexpected_field", extra[0], f"fields outside the schema: {extra}")
        event_id = event["event_id"]
        if type(event_id) is not str:
            raise _Reject("wrong_type", "event_id", "event_id must be a string")
        if len(event_id) != 36 or not _UUID.fullmatch(event_id):
            raise _Reject("bad_event_id", "event_id", f"{event_id[:64]!r} is not a uuid")
        ts = event["timestamp"]
        if type(ts) is not str:
            raise _Reject("wrong_type", "timestamp", "timestamp must be an ISO 8601 string")
        try:
            parsed = datetime.fromisoformat(ts)
        except ValueError:
            raise _Reject("bad_timestamp", "timestamp", f"{ts[:64]!r} is not ISO 8601") from None
        if parsed.tzinfo is None:
            raise _Reject("bad_timestamp", "timestamp", f"{ts!r} has no time zone (use Z)")
        epoch = parsed.timestamp()
        if low is not None and epoch < low:
            raise _Reject("too_late", "timestamp", f"{ts} is older than the lookback")
        if epoch > high:
            raise _Reject("in_future", "timestamp", f"{ts} is ahead of the ingestion clock")
        for name, limit in _STRINGS:
            value = event[name]
            if type(value) is not str:
                raise _Reject("wrong_type", name, f"{name} must be a string")
            if not 0 < len(value) <= limit:
                raise _Reject("out_of_range", name, f"{name} must have 1 to {limit} characters")
        user_id = event.get("user_id")
        if user_id is not None:
            if type(user_id) is not int:
                raise _Reject("wrong_type", "user_id", "user_id must be an integer or null")
            if not 0 < user_id < 2**31:
                raise _Reject("out_of_range", "user_id", f"user_id {user_id} is not a customer id")
        referrer = event.get("referrer_url")
        if referrer is not None and (type(referrer) is not str or len(referrer) > 2048):
            raise _Reject("wrong_type", "referrer_url", "referrer_url must be a string or null")
        ip = event["ip_address"]
        if type(ip) is not str:
            raise _Reject("wrong_type", "ip_address", "ip_address must be a string")
        if not _IPV4.fullmatch(ip) and not _is_ipv6(ip):
            # the value is not quoted: it may be an address (a typo, a port), never stored
            raise _Reject("bad_ip_address", "ip_address", "ip_address is not an IPv4 or IPv6")
        device = event["device_type"]
        if type(device) is not str:
            raise _Reject("wrong_type", "device_type", "device_type must be a string")
        if device not in _DEVICES:
            allowed = ", ".join(DEVICE_TYPES)
            raise _Reject("unknown_device_type", "device_type", f"{device[:32]!r} not in {allowed}")
        duration = _number(event, "duration")
        if duration < 0:
            raise _Reject("negative_duration", "duration", f"duration {duration} is negative")
        if duration > MAX_DURATION_SECONDS:
            raise _Reject("out_of_range", "duration", f"duration {duration} is over a day")
        order_value = _number(event, "order_value")
        if not 0 <= order_value <= MAX_ORDER_VALUE:
            raise _Reject("out_of_range", "order_value", f"order_value {order_value} out of range")
        return (
            event_id.lower(),
            round(epoch * 1_000_000),
            event["session_id"],
            user_id,
            event["page_url"],
            referrer,
            ip,
            event["user_agent"],
            device,
            duration,
            event["country"],
            order_value,
        )
