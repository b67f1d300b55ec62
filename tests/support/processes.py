"""Child processes of the tests (servers started for a test or a session, measured commands)."""

from __future__ import annotations

import os
import subprocess
import tempfile
import time
from dataclasses import dataclass


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


def run_measured(argv: list[str], env: dict, stdin=None, timeout: float = 600) -> Measured:
    """Run ``argv`` to its end and measure its peak memory exactly (``wait4``, no sampling)."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, env=env, stdin=stdin, stdout=out, stderr=err)
        deadline = time.monotonic() + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.monotonic() > deadline:
                proc.kill()
                _, status, usage = os.wait4(proc.pid, 0)
                break
            time.sleep(0.05)
        proc.returncode = os.waitstatus_to_exitcode(status)  # reaped here, not by Popen
        out.seek(0)
        err.seek(0)
        return Measured(
            proc.returncode,
            out.read().decode(errors="replace"),
            err.read().decode(errors="replace"),
            usage.ru_maxrss / 1024,  # KiB on Linux
        )
