"""Benchmark the streamer's memory with one huge line in its input (bounded reads).

    .venv/bin/python bench/events_oversized.py                 # this checkout's adw
    .venv/bin/python bench/events_oversized.py --adw ../main/.venv/bin/adw --adw .venv/bin/adw

For each `adw` given: `adw events stream --from-file` over an empty file (the baseline: imports
only), then over 100 good events with one line of --mb megabytes in the middle, from the file
and from stdin. Prints the peak RSS of the streamer (the kernel's ``ru_maxrss`` from ``wait4``,
not sampled), the wall time, the events accepted and rejected, and the bytes of dead letters
written. Each run has its own temporary ADW_HOME. Not a pass/fail test: it prints figures
(tests/security/test_oversized_input.py holds the 400 MB bound).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests.support

from tests.support.processes import run_measured

os.environ.setdefault("DO_NOT_TRACK", "1")
HERE = str(Path(sys.executable).parent / "adw")


def _spool(path: Path, megabytes: int) -> None:
    """100 good events with one line of ``megabytes`` MB in the middle."""
    from adw_assets.lib.events.generator import EventGenerator

    now = time.time()
    good = [json.dumps(e) + "\n" for e in EventGenerator(3).emit(0, 100, now - 60, now)]
    with path.open("w") as out:
        out.writelines(good[:50])
        head = '{"ip_address": "192.0.2.1", "pad": "'
        left = megabytes * 1024 * 1024 - len(head) - 2
        out.write(head)
        block = "x" * (1 << 20)
        while left > 0:
            out.write(block[: min(left, len(block))])
            left -= len(block)
        out.write('"}\n')
        out.writelines(good[50:])


def _run(adw: str, source: Path, via_stdin: bool) -> dict:
    with tempfile.TemporaryDirectory(prefix="adw-bench-") as home:
        env = {k: v for k, v in os.environ.items() if not k.startswith("ADW_")}
        env["ADW_HOME"] = home
        argv = [adw, "events", "stream", "--from-file", "-" if via_stdin else str(source)]
        argv += ["--json", "-q"]
        started = time.monotonic()
        if via_stdin:
            with source.open("rb") as handle:
                proc = run_measured(argv, env=env, stdin=handle)
        else:
            proc = run_measured(argv, env=env)
        seconds = time.monotonic() - started
        dead = sum(p.stat().st_size for p in Path(home).glob("events/dead_letter/*/*.jsonl"))
        out = proc.stdout.strip().splitlines()
        summary = json.loads(out[-1]) if proc.returncode == 0 and out else {}
        return {
            "rss": proc.peak_rss_mb,
            "seconds": seconds,
            "exit": proc.returncode,
            "accepted": summary.get("accepted"),
            "rejected": summary.get("rejected"),
            "dead_letter_bytes": dead,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--mb", type=int, default=200, help="size of the huge line, in MB")
    parser.add_argument(
        "--adw", action="append", help="an adw executable (repeatable; default: this venv's)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="adw-bench-spool-") as tmp:
        empty, huge = Path(tmp) / "empty.jsonl", Path(tmp) / "huge.jsonl"
        empty.write_text("")
        _spool(huge, args.mb)
        print("| adw | input | peak RSS | seconds | exit | accepted / rejected | dead letters |")
        print("|---|---|---|---|---|---|---|")
        for adw in args.adw or [HERE]:
            cases = [("empty file (baseline)", empty, False)]
            cases += [(f"file, one {args.mb} MB line", huge, False)]
            cases += [(f"stdin, one {args.mb} MB line", huge, True)]
            for label, source, via_stdin in cases:
                r = _run(adw, source, via_stdin)
                print(
                    f"| {adw} | {label} | {r['rss']:,.0f} MB | {r['seconds']:.1f} | {r['exit']} "
                    f"| {r['accepted']} / {r['rejected']} | {r['dead_letter_bytes']:,} B |",
                    flush=True,
                )


if __name__ == "__main__":
    main()
