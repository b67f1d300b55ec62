"""Bounded reads and file-source integrity of `adw events stream`, run as a user runs it.

* A 200 MB line, from a file and from stdin, is read with a size limit: the streamer's peak
  memory (the kernel's count, ``wait4``) stays under 400 MB, the line becomes one dead letter
  cut to 4 KiB with its original length, and the good lines around it are ingested.
* A spool file that shrank, was replaced or rewritten since its checkpoint is a one-line
  error and exit 1, never 0 events and exit 0.
* A last line without a newline is treated the same from a file and from stdin: not ingested,
  reported in one line, exit 1; a file's is ingested once its newline arrives.
"""

from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

import pytest

from adw_assets.lib.events.config import events_config
from adw_assets.lib.events.generator import EventGenerator
from tests.support.processes import Measured, run_measured

ADW = str(Path(sys.executable).parent / "adw")
HUGE = 200 * 1024 * 1024
MAX_RSS_MB = 400


def _events(seed: int, n: int) -> list[str]:
    now = time.time()
    return [json.dumps(e) + "\n" for e in EventGenerator(seed).emit(0, n, now - 60, now)]


def _stream(source: Path | str, stdin: Path | None = None) -> Measured:
    argv = [ADW, "events", "stream", "--from-file", str(source), "--json", "-q"]
    if stdin is None:
        return run_measured(argv, env=dict(os.environ))
    with stdin.open("rb") as handle:
        return run_measured(argv, env=dict(os.environ), stdin=handle)


def _summary(proc: Measured) -> dict:
    return json.loads(proc.stdout.splitlines()[-1])


def _one_line_error(proc: Measured) -> str:
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    (error,) = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    return error


def _dead_letters() -> list[dict]:
    return [
        json.loads(line)
        for path in sorted(events_config().dead_letter_dir.glob("*/*.jsonl"))
        for line in path.read_text().splitlines()
    ]


@pytest.fixture(scope="module")
def huge_spool(tmp_path_factory) -> tuple[Path, int]:
    """50 good events, a 200 MB line, 50 good events; the number of good events."""
    path = tmp_path_factory.mktemp("huge") / "spool.jsonl"
    good = _events(31, 100)
    with path.open("w") as out:
        out.writelines(good[:50])
        head = '{"ip_address": "192.0.2.77", "pad": "'
        out.write(head)
        block = "x" * (1 << 20)
        left = HUGE - len(head) - 2
        while left > 0:
            out.write(block[: min(left, len(block))])
            left -= len(block)
        out.write('"}\n')
        out.writelines(good[50:])
    return path, len(good)


@pytest.mark.parametrize("via", ["file", "stdin"])
def test_a_200_mb_line_is_one_cut_dead_letter_in_bounded_memory(huge_spool, via):
    path, good = huge_spool
    proc = _stream(path) if via == "file" else _stream("-", stdin=path)
    assert proc.returncode == 0, proc.stderr
    print(f"peak RSS of `adw events stream` ({via}, one 200 MB line): {proc.peak_rss_mb:.0f} MB")
    assert proc.peak_rss_mb < MAX_RSS_MB
    summary = _summary(proc)
    assert (summary["accepted"], summary["rejected"]) == (good, 1)
    (letter,) = _dead_letters()
    assert letter["reason"] == "too_large"
    assert (letter["payload_bytes"], letter["payload_truncated"]) == (HUGE, True)
    assert len(letter["payload"].encode()) <= 4096
    assert "192.0.2.77" not in letter["payload"]


def _spool(tmp_path: Path, lines: list[str]) -> Path:
    path = tmp_path / "spool.jsonl"
    path.write_text("".join(lines))
    return path


def test_a_spool_file_that_shrank_is_an_error(tmp_path):
    lines = _events(32, 100)
    path = _spool(tmp_path, lines)
    assert _summary(_stream(path))["accepted"] == 100
    with path.open("r+") as handle:  # truncated in place: same inode, smaller
        handle.truncate(len("".join(lines[:40])))
    error = _one_line_error(_stream(path))
    assert str(path) in error and "shrank" in error and "--source-name" in error


def test_a_replaced_spool_file_is_an_error(tmp_path):
    path = _spool(tmp_path, _events(33, 100))
    assert _summary(_stream(path))["accepted"] == 100
    (tmp_path / "new").mkdir()
    new = _spool(tmp_path / "new", _events(34, 300))  # another, bigger file renamed over it
    new.rename(path)
    error = _one_line_error(_stream(path))
    assert "replaced" in error and "inode" in error


def test_a_rewritten_spool_file_is_an_error(tmp_path):
    lines = _events(35, 100)
    path = _spool(tmp_path, lines)
    assert _summary(_stream(path))["accepted"] == 100
    other = _events(36, 300)  # rewritten in place, same inode, longer: the prefix differs
    with path.open("r+") as handle:
        handle.write("".join(other))
    error = _one_line_error(_stream(path))
    assert "already ingested changed" in error


def test_a_spool_file_that_grew_is_resumed(tmp_path):
    lines = _events(37, 300)
    path = _spool(tmp_path, lines[:100])
    assert _summary(_stream(path))["accepted"] == 100
    with path.open("a") as handle:
        handle.writelines(lines[100:])
    proc = _stream(path)
    assert proc.returncode == 0, proc.stderr
    assert _summary(proc)["accepted"] == 200


@pytest.mark.parametrize("via", ["file", "stdin"])
def test_a_last_line_without_newline_is_held_and_reported(tmp_path, via):
    lines = _events(38, 10)
    path = _spool(tmp_path, [*lines[:9], lines[9].rstrip("\n")])
    proc = _stream(path) if via == "file" else _stream("-", stdin=path)
    error = _one_line_error(proc)
    assert f"({len(lines[9]) - 1:,} bytes" in error and "newline" in error
    assert _summary(proc)["accepted"] == 9
    if via == "file":  # its newline arrives: ingested, nothing else twice
        with path.open("a") as handle:
            handle.write("\n")
        proc = _stream(path)
        assert proc.returncode == 0, proc.stderr
        assert (_summary(proc)["accepted"], _summary(proc)["rejected"]) == (1, 0)


def test_the_measure_counts_the_command_not_the_test_process():
    """Late in a session the test process holds hundreds of MB; Linux carries a forked child's
    peak RSS across exec, so the bound above must not count the test process's memory."""
    ballast = bytearray(600 * 1024 * 1024)  # touched: resident in this process
    ballast[::4096] = b"x" * len(ballast[::4096])
    proc = run_measured([sys.executable, "-c", "pass"], env=dict(os.environ))
    assert proc.returncode == 0 and proc.peak_rss_mb < 100, proc.peak_rss_mb
    del ballast
