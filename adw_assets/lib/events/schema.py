"""The web event: its fields, the landing-zone (Parquet) schema and the dead-letter reasons.

An event is a JSON object with exactly these twelve fields (the seed's eleven plus an id).
``user_id`` and ``referrer_url`` may be null or absent; every other field is required.
"""

from __future__ import annotations

import pyarrow as pa

FIELDS: tuple[str, ...] = (
    "event_id",  # uuid string, the idempotency key
    "timestamp",  # ISO 8601 with a time zone (UTC recommended), e.g. 2026-01-31T12:00:00.000Z
    "session_id",
    "user_id",  # nullable: a real customer id from the source (sales.customer.customerid)
    "page_url",
    "referrer_url",  # nullable: null = direct visit
    "ip_address",  # IPv4 or IPv6; anonymized in staging, never past it
    "user_agent",
    "device_type",  # desktop / tablet / mobile
    "duration",  # seconds on the page, >= 0
    "country",  # AdventureWorks country name (person.countryregion.name)
    "order_value",  # >= 0; 0 means no purchase
)
NULLABLE = frozenset({"user_id", "referrer_url"})
REQUIRED = tuple(f for f in FIELDS if f not in NULLABLE)
DEVICE_TYPES = ("desktop", "tablet", "mobile")

MAX_DURATION_SECONDS = 86_400.0
MAX_ORDER_VALUE = 10_000_000.0
MAX_LINE_BYTES = 64 * 1024

# Columns of a landing-zone Parquet file. ``event_date`` is not stored in the file: it is the
# hive partition (directory ``event_date=YYYY-MM-DD``), the UTC date of ``timestamp``.
LANDING_SCHEMA = pa.schema(
    [
        pa.field("event_id", pa.string(), nullable=False),
        pa.field("timestamp", pa.timestamp("us", tz="UTC"), nullable=False),
        pa.field("session_id", pa.string(), nullable=False),
        pa.field("user_id", pa.int64()),
        pa.field("page_url", pa.string(), nullable=False),
        pa.field("referrer_url", pa.string()),
        pa.field("ip_address", pa.string(), nullable=False),
        pa.field("user_agent", pa.string(), nullable=False),
        pa.field("device_type", pa.string(), nullable=False),
        pa.field("duration", pa.float64(), nullable=False),
        pa.field("country", pa.string(), nullable=False),
        pa.field("order_value", pa.float64(), nullable=False),
        # when the batch holding the event was written (the acknowledgement time)
        pa.field("_ingested_at", pa.timestamp("us", tz="UTC"), nullable=False),
        # "<stream source>:<first sequence number of the batch>"
        pa.field("_batch_id", pa.string(), nullable=False),
    ]
)

# Why an event went to the dead-letter store. Stable codes: tests, checks and docs use them.
REASONS: tuple[str, ...] = (
    "invalid_json",  # the line is not JSON
    "not_an_object",  # JSON, but not an object
    "too_large",  # a line longer than MAX_LINE_BYTES
    "missing_field",  # a required field is absent
    "unexpected_field",  # a field outside the schema
    "wrong_type",  # e.g. duration "12s", user_id "abc"
    "bad_event_id",  # not a uuid
    "bad_timestamp",  # not ISO 8601, or without a time zone
    "too_late",  # older than the lookback (ADW_EVENTS_LOOKBACK_HOURS)
    "in_future",  # more than ADW_EVENTS_MAX_CLOCK_SKEW_SECONDS ahead of the ingestion clock
    "negative_duration",
    "out_of_range",  # duration over a day, negative order value, user_id <= 0, empty string
    "unknown_device_type",
    "bad_ip_address",
    "duplicate_event_id",  # an event_id already accepted recently (repeated delivery)
    "invalid_event",  # anything else the checks did not foresee (never stops the stream)
)
