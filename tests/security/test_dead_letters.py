"""Dead letters keep no IP address in clear, stay small, are private, and expire.

Events that fail validation for every kind of reason, each carrying IP addresses (in
``ip_address``, in other fields, in an invalid JSON line, in an oversized line), go through
``adw events stream --from-file`` as a user runs it; then every byte of the dead-letter store
is searched for the addresses. Retention runs as the Dagster job the daily schedule launches.
"""

from __future__ import annotations

import json
import os
import stat
import sys
import time
import warnings
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from adw_assets.lib.events.config import events_config
from adw_assets.lib.events.generator import EventGenerator
from adw_assets.lib.events.landing import write_batch
from adw_assets.lib.events.validate import Validator
from adw_assets.settings import get_settings
from tests.support.dagster import definitions
from tests.support.processes import run_measured

ADW = str(Path(sys.executable).parent / "adw")
SALT = "a-test-salt-0b7f"


def _event(ip, **changes) -> dict:
    now = time.time()
    event = EventGenerator(21).emit(0, 1, now - 5, now)[0]
    event["ip_address"] = ip
    event.update(changes)
    return event


def _line(event) -> str:
    return json.dumps(event) + "\n"


def _hash(ip: str) -> str:
    """staging's ip_address_hash, as the salted_hash macro computes it on DuckDB."""
    with duckdb.connect() as con:
        return con.execute("select sha256(concat(?, ?))", [SALT, ip]).fetchone()[0]


# (address, the line that carries it): one per way an address can reach a dead letter
def _hostile_lines() -> list[tuple[str, str]]:
    valid = _event("192.0.2.201")
    late = _event("100.64.3.4", user_agent="curl/8 (100.64.1.2)", timestamp="2001-01-01T00:00:00Z")
    escaped = _line(_event("192.0.2.124", device_type=3))  # the address in \u escapes
    return [
        ("192.0.2.11", _line(_event("192.0.2.11", device_type="fridge"))),
        ("2001:db8::a11", _line(_event("2001:db8::a11", duration=-3))),
        ("10.20.30.40:8080", _line(_event("10.20.30.40:8080"))),  # bad_ip_address, quoted before
        ("999.77.66.55", _line(_event("999.77.66.55"))),  # not an IP, still the hashed field
        ("198.51.100.23", _line(_event("198.51.100.24", client_ip="198.51.100.23"))),
        ("203.0.113.9", _line(_event("203.0.113.8", **{"203.0.113.9": 1}))),  # as a field name
        ("198.18.0.77", '{"ip_address": "198.18.0.77", "event_id": \n'),  # invalid JSON
        ("198.18.0.78", '{"event_id": 1, "ip_address": "198.18.0.78" oops}\n'),
        ("::ffff:192.0.2.99", _line(_event("::ffff:192.0.2.99", timestamp="yesterday"))),
        ("100.64.1.2", _line(late)),  # in another field of a too_late event
        ("192.0.2.201", _line(valid) + _line(valid)),  # the second is a duplicate_event_id
        ("172.16.9.9", '["not", {"ip_address": "172.16.9.9"}]\n'),  # not an object
        (
            "192.0.2.123",
            json.dumps({"ip_address": "192.0.2.123", "pad": "x" * 70_000}) + "\n",  # too large
        ),
        ("192.0.2.124", escaped.replace('"192.0.2.124"', '"\\u0031\\u0039\\u0032.0.2.124"')),
    ]


@pytest.fixture
def streamed(adw_home, tmp_path, monkeypatch) -> dict:
    """The hostile lines streamed by `adw events stream --from-file`; the dead letters."""
    monkeypatch.setenv("ADW_CARD_HASH_SALT", SALT)
    get_settings.cache_clear()
    lines = _hostile_lines()
    spool = tmp_path / "spool.jsonl"
    spool.write_text("".join(line for _, line in lines))
    proc = run_measured([ADW, "events", "stream", "--from-file", str(spool), "--json", "-q"],
                        env=dict(os.environ))  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout.splitlines()[-1])
    files = sorted(events_config().dead_letter_dir.rglob("*"))
    letters = [json.loads(x) for p in files if p.is_file() for x in p.read_text().splitlines()]
    return {"summary": summary, "files": files, "letters": letters, "ips": [ip for ip, _ in lines]}


def test_no_ip_address_in_any_dead_letter(streamed):
    summary, letters = streamed["summary"], streamed["letters"]
    assert summary["accepted"] == 1 and summary["rejected"] == len(letters) == 14
    reasons = {d["reason"] for d in letters}
    assert {"unknown_device_type", "negative_duration", "bad_ip_address", "unexpected_field",
            "invalid_json", "bad_timestamp", "too_late", "duplicate_event_id", "not_an_object",
            "too_large", "wrong_type"} <= reasons  # fmt: skip
    stored = b"".join(p.read_bytes() for p in streamed["files"] if p.is_file())
    for ip in streamed["ips"]:
        assert ip.encode() not in stored, ip
    # "192.0.2.124" was sent with \u escapes: not in clear either once decoded
    assert "192.0.2.124" not in json.dumps(letters, ensure_ascii=False)
    bad_ip = next(d for d in letters if d["reason"] == "bad_ip_address")
    assert "10.20.30.40" not in bad_ip["detail"] and bad_ip["field"] == "ip_address"


def test_the_ip_address_becomes_the_salted_hash_staging_computes(streamed):
    by_reason = {d["reason"]: d for d in streamed["letters"]}
    fridge = json.loads(by_reason["unknown_device_type"]["payload"])
    assert fridge["ip_address"] == f"sha256:{_hash('192.0.2.11')}"
    assert fridge["device_type"] == "fridge"  # the rest of the payload is kept
    invalid = [d["payload"] for d in streamed["letters"] if d["reason"] == "invalid_json"]
    for ip in ("198.18.0.77", "198.18.0.78"):  # not JSON: the field's text is hashed
        assert any(f'"ip_address": "sha256:{_hash(ip)}"' in p for p in invalid), ip
    (extra,) = [json.loads(d["payload"]) for d in streamed["letters"] if d["field"] == "client_ip"]
    assert extra["client_ip"] == f"sha256:{_hash('198.51.100.23')}"  # found in any field


def test_dead_letter_files_are_private(streamed):
    for path in streamed["files"]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o700 if path.is_dir() else 0o600), (path, oct(mode))
    assert stat.S_IMODE(events_config().dead_letter_dir.stat().st_mode) == 0o700


def test_payloads_are_cut_to_4_kib_with_their_original_length(streamed):
    letters = streamed["letters"]
    assert all(len(d["payload"].encode()) <= 4096 for d in letters)
    large = next(d for d in letters if d["reason"] == "too_large")
    sent = len(json.dumps({"ip_address": "192.0.2.123", "pad": "x" * 70_000}))
    assert (large["payload_bytes"], large["payload_truncated"]) == (sent, True)
    assert large["payload"].startswith('{"ip_address": "sha256:')
    small = next(d for d in letters if d["reason"] == "negative_duration")
    assert small["payload_truncated"] is False
    assert small["payload_bytes"] == len(_line(_event("2001:db8::a11", duration=-3))) - 1


def _dead_letters_received(cfg, when: datetime, source: str) -> Path:
    """Land one batch of three rejected events received at ``when``; its dead-letter file."""
    validated = Validator().validate(
        [b"not json", b"[1]", json.dumps(_event("192.0.2.1", duration=-1)).encode()],
        now=when.timestamp(),
    )
    (path,) = write_batch(cfg, source, 0, validated, when.timestamp())
    return path


def test_retention_deletes_whole_expired_files_only(adw_home, monkeypatch):
    monkeypatch.setenv("ADW_EVENTS_DEAD_LETTER_RETENTION_DAYS", "3")
    get_settings.cache_clear()
    cfg = events_config()
    now = datetime.now(UTC)
    expired = [_dead_letters_received(cfg, now - timedelta(days=d), f"old{d}") for d in (4, 9)]
    kept = {
        p: p.read_bytes()
        for p in (
            _dead_letters_received(cfg, now - timedelta(days=2, hours=23), "recent"),
            _dead_letters_received(cfg, now, "today"),
        )
    }
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        defs = definitions()
    schedule = defs.resolve_schedule_def("dead_letter_retention_schedule")
    assert schedule.job_name == "dead_letter_retention_job"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    result = defs.resolve_job_def("dead_letter_retention_job").execute_in_process()
    assert result.success
    assert not any(p.exists() or p.parent.exists() for p in expired)
    assert {p: p.read_bytes() for p in kept} == kept  # whole, untouched
    (output,) = [e for e in result.all_events if e.event_type_value == "STEP_OUTPUT"]
    metadata = output.event_specific_data.metadata
    assert (metadata["deleted_files"].value, metadata["retention_days"].value) == (2, 3)


def test_an_address_across_the_cut_or_in_hostile_json_is_not_kept():
    from adw_assets.lib.events.dead_letters import PAYLOAD_BYTES, IpRedactor

    redactor = IpRedactor(SALT)
    for pad in range(PAYLOAD_BYTES - 12, PAYLOAD_BYTES + 2):  # the address across the cut
        text = '{"note": "' + "x" * pad + ' 198.51.100.201 "'  # invalid JSON: text path
        kept, cut = redactor.payload(text)
        assert cut and "198.51" not in kept and len(kept.encode()) <= PAYLOAD_BYTES
    deep = '{"ip_address": "198.51.100.202", "a": ' + "[" * 50_000  # too deep to walk
    kept, _ = redactor.payload(deep)
    assert "198.51.100.202" not in kept and kept.startswith('{"ip_address": "sha256:')


def test_stream_without_a_salt_off_the_local_default_stops_before_landing(adw_home, tmp_path):
    """Dead letters hash addresses with the card-hash salt: with an external source and no
    salt, `adw events stream` refuses in one line before it lands or checkpoints anything."""
    spool = tmp_path / "spool.jsonl"
    valid = _line(_event("192.0.2.201"))
    spool.write_text(valid + "".join(line for _, line in _hostile_lines()[:3]))
    env = dict(os.environ, ADW_SOURCE_DSN="postgresql://adw@127.0.0.1:9/absent")
    proc = run_measured([ADW, "events", "stream", "--from-file", str(spool), "-q"], env=env)
    assert proc.returncode == 1
    assert proc.stderr.strip().count("\n") == 0 and "ADW_CARD_HASH_SALT" in proc.stderr
    assert not [p for p in events_config().events_dir.rglob("*") if p.is_file()]
