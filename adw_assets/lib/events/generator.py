"""Deterministic mock web events: sessions of page views, from (seed, sequence number).

Event ``n`` of a stream is a pure function of the seed, ``n`` and the emission window of its
batch. Events come in blocks of ``BLOCK_SIZE``, each block drawn from its own RNG seeded by
(seed, block), so a restart regenerates exactly the events after its checkpoint. Faker is used
once per generator to build the pools (user agents, referrer sites, search words); the
per-event work is a few RNG draws, fast enough for >= 20,000 events/s.
"""

from __future__ import annotations

import json
import random
from bisect import bisect_right
from datetime import UTC, datetime
from functools import lru_cache

from adw_assets.lib.events.reference import Reference, fallback_reference
from adw_assets.lib.events.schema import REQUIRED

BLOCK_SIZE = 1024
SITE = "https://www.adventure-works.com"

# Anomalies injected by --bad-ratio, and the dead-letter reason each must get
# (None: a valid event that must be accepted, e.g. hours late but within the lookback).
ANOMALIES: dict[str, str | None] = {
    "missing_field": "missing_field",
    "wrong_type": "wrong_type",
    "negative_duration": "negative_duration",
    "unknown_device": "unknown_device_type",
    "bad_timestamp": "bad_timestamp",
    "invalid_json": "invalid_json",
    "duplicate_event_id": "duplicate_event_id",
    "too_late": "too_late",
    "late": None,
}
_ANOMALY_KINDS = tuple(ANOMALIES)
_WRONG_TYPES = (
    ("duration", "12 seconds"),
    ("user_id", "customer-7"),
    ("order_value", "free"),
    ("device_type", 3),
    ("timestamp", 1767225600),
    ("page_url", ["/", "/cart"]),
)
_BAD_TIMESTAMPS = ("2026-13-45T99:00:00Z", "yesterday", "31/01/2026 12:00", "")
_CATEGORIES = {
    "bikes": ("mountain-100", "mountain-500", "road-150", "road-650", "touring-1000"),
    "components": ("hl-road-frame", "ml-mountain-handlebars", "hl-fork", "ll-crankset"),
    "clothing": ("long-sleeve-logo-jersey", "classic-vest", "half-finger-gloves", "racing-socks"),
    "accessories": ("sport-100-helmet", "water-bottle", "patch-kit", "hitch-rack", "bike-wash"),
}
_PRODUCTS = tuple((c, p) for c, ps in _CATEGORIES.items() for p in ps)
_SEARCH_ENGINES = (
    "https://www.google.com/search?q=",
    "https://www.bing.com/search?q=",
    "https://duckduckgo.com/?q=",
)
_SOCIAL = ("https://www.facebook.com/", "https://www.instagram.com/", "https://t.co/")
_DEVICES = (("desktop", 0.48), ("mobile", 0.90), ("tablet", 1.0))  # cumulative mix


def _pick(rng: random.Random, seq):
    # consumes exactly one draw whatever len(seq) is, so pools of any size keep the stream stable
    return seq[int(rng.random() * len(seq))]


@lru_cache(maxsize=16)
def _pools(seed: int) -> dict[str, tuple[str, ...]]:
    from faker import Faker

    fake = Faker("en_US")
    fake.seed_instance(seed)
    chrome = "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/{}.0.0.0 {}Safari/537.36"
    desktop, mobile, tablet = [], [], []
    for _ in range(24):
        token = _pick(fake.random, (fake.windows_platform_token, fake.mac_platform_token))()
        desktop.append(f"Mozilla/5.0 ({token}) {chrome.format(fake.random_int(110, 131), '')}")
        desktop.append(f"Mozilla/5.0 ({fake.linux_platform_token()}; rv:128.0) Firefox/128.0")
        mobile.append(
            f"Mozilla/5.0 ({fake.android_platform_token()}; Mobile) "
            + chrome.format(fake.random_int(110, 131), "Mobile ")
        )
        mobile.append(f"Mozilla/5.0 ({fake.ios_platform_token()}) Version/17.0 Mobile Safari/604.1")
        tablet.append(
            f"Mozilla/5.0 (iPad; CPU OS {fake.random_int(15, 18)}_0 like Mac OS X) Safari/604.1"
        )
        android = f"Linux; Android {fake.random_int(11, 15)}; SM-X{fake.random_int(100, 999)}"
        tablet.append(f"Mozilla/5.0 ({android}) " + chrome.format(fake.random_int(110, 131), ""))
    return {
        "desktop": tuple(desktop),
        "mobile": tuple(mobile),
        "tablet": tuple(tablet),
        "sites": tuple(f"https://{fake.domain_name()}/{fake.slug()}" for _ in range(40)),
        "words": tuple(fake.word() for _ in range(60)),
    }


_UUID_CLEAR = ~((0xF000 << 64) | (0xC000 << 48))
_UUID_SET = (0x4000 << 64) | (0x8000 << 48)


def _uuid(rng: random.Random) -> str:
    """A random (version 4) uuid from ``rng``; same value as uuid.UUID(int=..., version=4)."""
    h = f"{(rng.getrandbits(128) & _UUID_CLEAR) | _UUID_SET:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _ip(rng: random.Random) -> str:
    if rng.random() < 0.8:
        first = _pick(rng, (24, 31, 46, 62, 77, 81, 86, 92, 98, 104, 142, 151, 185, 203, 212))
        b, c, d = int(rng.random() * 256), int(rng.random() * 256), 1 + int(rng.random() * 254)
        return f"{first}.{b}.{c}.{d}"
    groups = ":".join(f"{int(rng.random() * 65536):x}" for _ in range(3))
    return f"2a02:{groups}::{1 + int(rng.random() * 65535):x}"


class _Session:
    __slots__ = ("country", "device", "ip", "pages", "previous", "purchase", "sid", "ua", "user")

    def __init__(self, rng: random.Random, ref: Reference, pools: dict) -> None:
        self.sid = _uuid(rng)
        if ref.customers and rng.random() < 0.35:
            self.user, self.country = _pick(rng, ref.customers)
        else:
            self.user = None
            self.country = ref.countries[
                min(bisect_right(ref.weights, rng.random() * ref.weights[-1]), len(ref.weights) - 1)
            ]
        x = rng.random()
        self.device = next(d for d, cum in _DEVICES if x < cum)
        self.ua = _pick(rng, pools[self.device])
        self.ip = _ip(rng)
        self.pages = 1 + min(int(rng.expovariate(1 / 3.0)), 24)
        self.purchase = self.pages >= 3 and rng.random() < 0.12
        x = rng.random()
        if x < 0.35:
            self.previous = None  # direct visit
        elif x < 0.75:
            self.previous = _pick(rng, _SEARCH_ENGINES) + _pick(rng, pools["words"])
        elif x < 0.9:
            self.previous = _pick(rng, _SOCIAL)
        else:
            self.previous = _pick(rng, pools["sites"])

    def next_page(self, rng: random.Random, ref: Reference, pools: dict) -> dict:
        self.pages -= 1
        order_value = 0.0
        if self.pages == 0 and self.purchase:
            path, duration = "/checkout/confirmation", 5.0 + int(rng.random() * 200) / 10
            order_value = 0.0
            for _ in range(1 + int(rng.random() * 3)):
                order_value += _pick(rng, ref.prices) * (1 + int(rng.random() * 2))
            order_value = round(order_value, 2)
        else:
            x = rng.random()
            if x < 0.15:
                path = "/"
            elif x < 0.35:
                path = "/category/" + _pick(rng, tuple(_CATEGORIES))
            elif x < 0.8:
                category, product = _pick(rng, _PRODUCTS)
                path = f"/product/{category}/{product}"
            elif x < 0.9:
                path = "/search?q=" + _pick(rng, pools["words"])
            else:
                path = "/cart"
            duration = round(0.5 + rng.expovariate(1 / 40.0), 1)
        url = SITE + path
        event = {
            "event_id": _uuid(rng),
            "timestamp": None,
            "session_id": self.sid,
            "user_id": self.user,
            "page_url": url,
            "referrer_url": self.previous,
            "ip_address": self.ip,
            "user_agent": self.ua,
            "device_type": self.device,
            "duration": duration,
            "country": self.country,
            "order_value": order_value,
        }
        self.previous = url
        return event


class EventGenerator:
    """Events of one stream. ``emit(start, count, t0, t1)`` is deterministic in its arguments.

    Streams of different ``stream`` names or seeds never share an event id.
    """

    def __init__(
        self,
        seed: int,
        reference: Reference | None = None,
        bad_ratio: float = 0.0,
        lookback_hours: float = 24.0,
        stream: str = "gen",
    ) -> None:
        if not 0.0 <= bad_ratio <= 1.0:
            raise ValueError(f"bad_ratio must be between 0 and 1, not {bad_ratio}")
        self.seed = seed
        self.stream = stream
        self.reference = reference or fallback_reference()
        self.bad_ratio = bad_ratio
        self.lookback_hours = lookback_hours
        self._pools = _pools(seed)
        self._blocks: dict[int, list[dict]] = {}
        self._anomaly_blocks: dict[int, list[tuple[float, str, float, float]]] = {}

    def _block(self, block: int) -> list[dict]:
        cached = self._blocks.get(block)
        if cached is not None:
            return cached
        rng = random.Random(f"adw-events:{self.stream}:{self.seed}:{block}")
        ref, pools = self.reference, self._pools
        events: list[dict] = []
        active: list[_Session] = []
        while len(events) < BLOCK_SIZE:
            if len(active) < 6 or rng.random() < 0.1:
                active.append(_Session(rng, ref, pools))
            index = int(rng.random() * len(active))
            session = active[index]
            events.append(session.next_page(rng, ref, pools))
            if session.pages == 0:
                active.pop(index)
        if len(self._blocks) >= 4:
            self._blocks.pop(min(self._blocks))
        self._blocks[block] = events
        return events

    def _anomalies(self, block: int) -> list[tuple[float, str, float, float]]:
        cached = self._anomaly_blocks.get(block)
        if cached is not None:
            return cached
        # fixed draws per event whatever the ratio: a lower ratio injects a subset of the kinds
        rng = random.Random(f"adw-anomaly:{self.stream}:{self.seed}:{block}")
        draws = [
            (rng.random(), _pick(rng, _ANOMALY_KINDS), rng.random(), rng.random())
            for _ in range(BLOCK_SIZE)
        ]
        if len(self._anomaly_blocks) >= 4:
            self._anomaly_blocks.pop(min(self._anomaly_blocks))
        self._anomaly_blocks[block] = draws
        return draws

    def anomaly(self, seq: int) -> str | None:
        """The anomaly injected at ``seq`` (a key of ``ANOMALIES``), None for a normal event."""
        if self.bad_ratio <= 0.0:
            return None
        u, kind, _, _ = self._anomalies(seq // BLOCK_SIZE)[seq % BLOCK_SIZE]
        return kind if u < self.bad_ratio else None

    def _duplicate_of(self, block: int, offset: int, p1: float) -> int | None:
        """Offset of the earlier event a ``duplicate_event_id`` repeats (None: nothing to repeat).

        The target is an earlier event of the block that was itself accepted (normal or late).
        """
        draws = self._anomalies(block)
        index = int(p1 * offset) if offset else -1
        while index >= 0:
            u, kind, _, _ = draws[index]
            if u >= self.bad_ratio or kind == "late":
                return index
            index -= 1
        return None

    def expected_reason(self, seq: int) -> str | None:
        """The dead-letter reason event ``seq`` must get; None when it must be accepted."""
        kind = self.anomaly(seq)
        if kind is None:
            return None
        if kind == "duplicate_event_id":
            block, offset = divmod(seq, BLOCK_SIZE)
            p1 = self._anomalies(block)[offset][2]
            return None if self._duplicate_of(block, offset, p1) is None else kind
        return ANOMALIES[kind]

    def emit(self, start: int, count: int, t0: float, t1: float) -> list[dict | str]:
        """Events ``start .. start+count-1``, emitted evenly over the window (t0, t1] (epoch s).

        Each item is a dict (an event object) or, for the ``invalid_json`` anomaly, a string.
        """
        out: list[dict | str] = []
        step = (t1 - t0) / count if count else 0.0
        bad = self.bad_ratio > 0.0
        for i in range(count):
            seq = start + i
            block, offset = divmod(seq, BLOCK_SIZE)
            events = self._blocks.get(block) or self._block(block)
            event = dict(events[offset])
            ts = t0 + step * (i + 1)
            if bad:
                u, kind, p1, p2 = self._anomalies(block)[offset]
                if u < self.bad_ratio:
                    out.append(self._corrupt(kind, event, ts, (block, offset), p1, p2))
                    continue
            event["timestamp"] = _iso(ts)
            out.append(event)
        return out

    def _corrupt(self, kind, event, ts, position, p1, p2) -> dict | str:
        if kind == "late":
            ts -= 3600.0 * (1.0 + p1 * max(0.0, self.lookback_hours - 2.0))
        elif kind == "too_late":
            ts -= 3600.0 * (self.lookback_hours + 1.0 + p1 * 48.0)
        elif kind == "duplicate_event_id":
            target = self._duplicate_of(*position, p1)
            if target is not None:  # a redelivery of an earlier accepted event
                event = dict(self._block(position[0])[target])
        event["timestamp"] = _iso(ts)
        if kind == "missing_field":
            del event[REQUIRED[int(p1 * len(REQUIRED))]]
        elif kind == "wrong_type":
            field, value = _WRONG_TYPES[int(p1 * len(_WRONG_TYPES))]
            event[field] = value
        elif kind == "negative_duration":
            event["duration"] = -round(1.0 + p1 * 100, 1)
        elif kind == "unknown_device":
            event["device_type"] = ("smartwatch", "fridge", "Desktop", "console")[int(p1 * 4)]
        elif kind == "bad_timestamp":
            event["timestamp"] = _BAD_TIMESTAMPS[int(p1 * len(_BAD_TIMESTAMPS))]
        elif kind == "invalid_json":
            text = json.dumps(event)
            return text[: int(len(text) * (0.2 + 0.6 * p2))]
        return event


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
