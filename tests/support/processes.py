"""Child processes of the tests (servers started for a test or a session, measured commands)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


def free_port() -> int:
    """A TCP port free on the loopback interface, for a server a test starts."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_serving(
    proc: subprocess.Popen, log: Path, ready: Callable[[], bool], what: str, timeout: float
) -> None:
    """Poll ``ready()`` (errors count as not ready) until it is true; fail with the tail of the
    server's ``log`` when ``proc`` exits first or after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            raise AssertionError(f"{what} exited {proc.returncode}:\n{log.read_text()[-4000:]}")
        try:
            if ready():
                return
        except Exception:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(
                f"{what} did not serve in {timeout:.0f} s:\n{log.read_text()[-4000:]}"
            )
        time.sleep(0.5)


def stop(proc: subprocess.Popen, timeout: float = 15) -> None:
    """Terminate ``proc``; kill it when it has not exited after ``timeout`` seconds."""
    proc.terminate()
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@dataclass
class Measured:
    returncode: int
    stdout: str
    stderr: str
    peak_rss_mb: float
    """The child's peak resident memory, as the kernel counted it (``ru_maxrss``)."""


_LAUNCHER = """
import os, sys
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(str(usage.ru_maxrss))
sys.exit(os.waitstatus_to_exitcode(status))
"""
"""Forks and measures the command. Linux carries a process's peak RSS across exec, so a child
forked straight from the test process would count the test process's own memory (hundreds of
MB late in a session); forked from this small launcher it counts only the launcher's pages."""


def run_measured(argv: list[str], env: dict, stdin=None, timeout: float = 600) -> Measured:
    """Run ``argv`` to its end and measure its peak memory exactly (``wait4`` in a small
    launcher process, no sampling)."""
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile("r") as peak,
    ):
        launcher = [sys.executable, "-S", "-c", _LAUNCHER, peak.name, *argv]
        proc = subprocess.Popen(
            launcher, env=env, stdin=stdin, stdout=out, stderr=err, start_new_session=True
        )
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        out.seek(0)
        err.seek(0)
        kib = peak.read().strip()
        return Measured(
            proc.returncode,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
            int(kib) / 1024 if kib else float("nan"),  # KiB on Linux
        )
