"""Validation: every bad kind is rejected with the right reason; nothing crashes it."""

from __future__ import annotations

import json
import random
from collections import Counter

import pytest

from adw_assets.lib.events.generator import EventGenerator
from adw_assets.lib.events.schema import FIELDS, REASONS
from adw_assets.lib.events.validate import Validator

NOW = 1_767_225_600.0  # 2026-01-01T00:00:00Z


def good(**changes) -> dict:
    event = {
        "event_id": "0b7c4c1e-4a57-4b8e-9a51-2c7f3d1f0e11",
        "timestamp": "2025-12-31T23:59:00.000Z",
        "session_id": "s-1",
        "user_id": 42,
        "page_url": "https://www.adventure-works.com/",
        "referrer_url": None,
        "ip_address": "81.2.69.160",
        "user_agent": "Mozilla/5.0",
        "device_type": "mobile",
        "duration": 12.5,
        "country": "France",
        "order_value": 0,
    }
    event.update(changes)
    return {k: v for k, v in event.items() if v is not ...}


def test_generated_anomalies_get_exactly_their_reasons():
    generator = EventGenerator(21, bad_ratio=0.3)
    payloads = generator.emit(0, 20_000, NOW - 20, NOW)
    validated = Validator(lookback_seconds=24 * 3600).validate(payloads, NOW)
    expected = Counter(generator.expected_reason(seq) for seq in range(20_000))
    got = Counter(d.reason for d in validated.dead)
    assert got == expected - Counter({None: expected[None]})
    assert validated.accepted == expected[None]
    assert len(got) == 8  # every rejected kind is present
    # dead letters keep the original payload, as received
    first = validated.dead[0]
    assert first.payload in {p if isinstance(p, str) else json.dumps(p) for p in payloads}


def test_late_events_within_the_lookback_are_accepted_with_their_own_time():
    generator = EventGenerator(21, bad_ratio=0.3)
    late = [seq for seq in range(5000) if generator.anomaly(seq) == "late"]
    payloads = generator.emit(0, 5000, NOW - 5, NOW)
    validated = Validator().validate([payloads[seq] for seq in late], NOW)
    assert validated.accepted == len(late) > 0
    hours_late = [(NOW * 1e6 - ts) / 3.6e9 for ts in validated.columns["timestamp"]]
    assert min(hours_late) >= 0.9 and max(hours_late) <= 24


@pytest.mark.parametrize(
    ("payload", "reason", "field"),
    [
        ('{"event_id": ', "invalid_json", None),
        (b"\xff\xfe not utf-8", "invalid_json", None),
        ("[1, 2]", "not_an_object", None),
        ("x" * 70_000, "too_large", None),
        (good(session_id=...), "missing_field", "session_id"),
        (good(browser="firefox"), "unexpected_field", "browser"),
        (good(duration="12s"), "wrong_type", "duration"),
        (good(duration=True), "wrong_type", "duration"),
        (good(user_id="7"), "wrong_type", "user_id"),
        (good(order_value=None), "wrong_type", "order_value"),
        (good(device_type=["mobile"]), "wrong_type", "device_type"),
        (good(event_id="not-a-uuid"), "bad_event_id", "event_id"),
        (good(timestamp="31/12/2025"), "bad_timestamp", "timestamp"),
        (good(timestamp="2025-12-31T23:59:00"), "bad_timestamp", "timestamp"),
        (good(timestamp="2025-12-30T23:00:00Z"), "too_late", "timestamp"),
        (good(timestamp="2026-01-01T01:00:00+00:00"), "in_future", "timestamp"),
        (good(duration=-1), "negative_duration", "duration"),
        (good(duration=90_000), "out_of_range", "duration"),
        (good(duration=float("nan")), "out_of_range", "duration"),
        (good(order_value=-5), "out_of_range", "order_value"),
        (good(user_id=0), "out_of_range", "user_id"),
        (good(country=""), "out_of_range", "country"),
        (good(device_type="smartwatch"), "unknown_device_type", "device_type"),
        (good(ip_address="999.1.1.1"), "bad_ip_address", "ip_address"),
    ],
)
def test_each_reason(payload, reason, field):
    validated = Validator().validate([payload], NOW)
    assert validated.accepted == 0
    [dead] = validated.dead
    assert (dead.reason, dead.field) == (reason, field)
    assert dead.reason in REASONS


def test_valid_variants_are_accepted_and_normalized():
    payloads = [
        good(),
        json.dumps(good(event_id="1B7C4C1E-4A57-4B8E-9A51-2C7F3D1F0E11")).encode(),
        good(event_id="2b7c4c1e-4a57-4b8e-9a51-2c7f3d1f0e11", user_id=..., referrer_url=...),
        good(
            event_id="3b7c4c1e-4a57-4b8e-9a51-2c7f3d1f0e11",
            timestamp="2026-01-01T00:30:00+01:00",
            ip_address="2a02:1:2:3::4",
            order_value=199,
        ),
    ]
    validated = Validator().validate(payloads, NOW)
    assert validated.dead == []
    cols = validated.columns
    assert cols["event_id"][1] == "1b7c4c1e-4a57-4b8e-9a51-2c7f3d1f0e11"
    assert cols["user_id"][2] is None and cols["referrer_url"][2] is None
    assert cols["timestamp"][3] == int((NOW - 1800) * 1e6)  # converted to UTC
    assert cols["order_value"][3] == 199.0


def test_repeated_event_ids_are_rejected_within_a_batch_and_across_batches():
    validator = Validator(seen_window=3)
    first = validator.validate([good(), good()], NOW)
    assert first.accepted == 1 and [d.reason for d in first.dead] == ["duplicate_event_id"]
    assert validator.validate([good()], NOW).dead[0].reason == "duplicate_event_id"
    # the window is bounded (memory stays flat): ids older than the window are forgotten
    others = [good(event_id=f"{i:08d}-4a57-4b8e-9a51-2c7f3d1f0e11") for i in range(3)]
    assert validator.validate(others, NOW).accepted == 3
    assert validator.validate([good()], NOW).accepted == 1


def test_garbage_never_crashes_the_validator():
    rng = random.Random(0)
    garbage: list = [None, 1, 2.5, "", "null", "{}", "\n", {"event_id": None}, [], {1: 2}]
    for _ in range(2000):
        event = good()
        field = rng.choice(FIELDS)
        event[field] = rng.choice(
            [None, -1, 1e308, float("inf"), "", "x" * 3000, [1], {"a": 1}, True, object()]
        )
        garbage.append(event)
        garbage.append(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 80))))
    validated = Validator().validate(garbage, NOW)
    assert validated.accepted + len(validated.dead) == len(garbage)
    assert {d.reason for d in validated.dead} <= set(REASONS)
