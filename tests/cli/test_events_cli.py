"""``adw events generate | stream | status`` as a user runs them."""

from __future__ import annotations

import io
import json
import sys

from adw_assets.cli import main
from adw_assets.lib.events.config import events_config

START = "2026-01-01T00:00:00+00:00"


def _run(*argv: str) -> int:
    try:
        main(list(argv))
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_generate_is_deterministic_for_a_seed_and_start(capsys):
    assert _run("events", "generate", "-n", "50", "--seed", "3", "--start", START) == 0
    first = capsys.readouterr().out
    assert _run("events", "generate", "-n", "50", "--seed", "3", "--start", START) == 0
    assert capsys.readouterr().out == first
    events = [json.loads(line) for line in first.splitlines()]
    assert len(events) == 50 and events[0]["timestamp"] == "2026-01-01T00:00:00.010Z"
    assert _run("events", "generate", "-n", "50", "--seed", "4", "--start", START) == 0
    assert capsys.readouterr().out != first


def test_bad_arguments_say_what_to_do(capsys, tmp_path):
    assert _run("events", "generate", "--bad-ratio", "1.5") == 2
    assert "between 0 and 1" in capsys.readouterr().err
    assert _run("events", "stream", "--from-file", str(tmp_path / "nope.jsonl")) == 1
    assert "no such file" in capsys.readouterr().err
    assert _run("events", "stream", "--source-name", "a b", "--count", "1") == 1
    assert "--source-name" in capsys.readouterr().err


def test_generate_piped_into_stream_then_status(capsys, monkeypatch):
    assert _run("events", "generate", "-n", "3000", "--seed", "5", "--bad-ratio", "0.1") == 0
    lines = capsys.readouterr().out.encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(lines)))
    assert _run("events", "stream", "--from-file", "-", "--json") == 0
    captured = capsys.readouterr()
    summary = json.loads(captured.out)
    landing = events_config().landing_dir
    assert f"into the landing zone {landing}" in captured.err  # where they go (BigQuery: the table)
    assert summary["accepted"] + summary["rejected"] == 3000
    assert 0 < summary["rejected"] < 600 and summary["rejected_by_reason"]
    assert "accepted" in captured.err and "rejected" in captured.err  # the summary line
    assert _run("events", "status", "--json") == 0
    status = json.loads(capsys.readouterr().out)
    assert status["store"] == f"landing zone {landing}"
    assert status["events"] == summary["accepted"]
    assert status["dead_letters"] == summary["rejected"]
    assert status["dead_letters_by_reason"] == summary["rejected_by_reason"]
    assert status["dead_letter_ratio"] > events_config().max_dead_letter_ratio
    assert _run("events", "status") == 0
    text = capsys.readouterr().out
    assert "dead letters" in text and "stdin-" in text


def test_stream_reports_progress_every_second_and_a_summary(capsys):
    assert _run("events", "stream", "--rate", "3000", "--duration", "2.5", "--seed", "9") == 0
    err = capsys.readouterr().err
    progress = [line for line in err.splitlines() if "events/s |" in line]
    assert len(progress) >= 2
    assert all("accepted" in p and "rejected" in p and "lag" in p for p in progress)
    summary = [line for line in err.splitlines() if line.startswith("stream gen-s9:")]
    assert summary and "events/s" in summary[0] and "next sequence number" in summary[0]


def test_status_of_an_empty_landing_zone(capsys):
    assert _run("events", "status") == 0
    assert "newest batch never" in capsys.readouterr().out
