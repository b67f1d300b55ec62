"""Every ``ADW_*`` setting fed hostile or malformed values (issue 14, items 2 and 9).

The variables come from ``settings.variables()``, so a new setting is covered the day it is
declared. Each value is either kept as plain data, or refused with exit 1 and one line on
stderr naming the variable: never a traceback, never an echo of a secret, never a 10 kB line.
The values that reach SQL are fed through that path in ``test_injection.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from adw_assets.errors import ConfigError
from adw_assets.settings import Settings, variables

ADW = Path(sys.executable).with_name("adw")
HOSTILE = {
    "injection": "1GB'; create table main.injected as select 42; --",
    "statement": "x;drop",
    "quote": '"',
    "newline": "a\nb",
    "10 kB": "x" * 10_240,
    "negative": "-1",
    "nan": "nan",
    "not UTF-8": b"caf\xe9 \xff\xfe".decode("utf-8", "surrogateescape"),
}
"""Hostile values by name; the last one is what Python makes of bytes that are not UTF-8."""
SECRETS = {name for name, field in variables().items() if field.repr is False} | {
    name for name, field in variables().items() if "SecretStr" in str(field.annotation)
}
LONGEST_LINE = 400


def refused(name: str, value: str) -> str | None:
    """adw's message for ``name=value`` alone, or None when the value is accepted."""
    try:
        Settings.from_env({name: value})
    except ConfigError as exc:
        return str(exc)
    return None


@pytest.mark.parametrize("kind", HOSTILE)
def test_each_setting_keeps_or_refuses_a_hostile_value_in_one_line(kind):
    value = HOSTILE[kind]
    for name in variables():
        try:
            message = refused(name, value)
        except Exception as exc:  # anything but ConfigError is a bug adw would print as a trace
            pytest.fail(f"{name}={kind}: {type(exc).__name__}: {exc}")
        if message is None:
            continue
        assert message.startswith(name), (name, message)
        assert "\n" not in message and len(message) <= LONGEST_LINE, (name, message)
        if name in SECRETS and len(value) > 3:
            assert value not in message, f"{name}: a secret is echoed"


@pytest.mark.parametrize("kind", HOSTILE)
def test_adw_names_every_refused_variable_in_one_line(kind, tmp_path):
    """Every variable set to the value at once, through a command a user types: exit 1, one
    line on stderr naming each variable that refuses the value, no traceback."""
    value = HOSTILE[kind]
    expected = [name for name in variables() if refused(name, value) is not None]
    assert expected, "every value here is refused by at least one setting"
    result = _adw(tmp_path, dict.fromkeys(variables(), value), "source", "status")
    assert result.returncode == 1, result.stderr
    line = _one_line(result.stderr)
    assert line.startswith("error: ")
    missing = [name for name in expected if f"{name}=" not in line and f"{name} " not in line]
    assert not missing, f"not named: {missing}"


@pytest.mark.parametrize("kind", HOSTILE)
def test_adw_keeps_an_accepted_hostile_value_as_data(kind, tmp_path):
    """The variables that accept the value, all set to it: the command runs as without them
    (the embedded source is reported as not running, exit 3), and nothing the value says is
    executed."""
    value = HOSTILE[kind]
    accepted = {name: value for name in variables() if refused(name, value) is None}
    assert "ADW_HOME" in accepted or kind in ("10 kB", "not UTF-8")
    result = _adw(tmp_path, accepted, "source", "status")
    assert "Traceback" not in result.stderr
    assert result.returncode == 3, result.stdout + result.stderr
    assert "source: embedded, not running" in result.stdout
    assert not list(tmp_path.rglob("*injected*"))


@pytest.mark.parametrize(
    ("name", "value", "said"),
    [
        ("ADW_RAW_PREFIX", "x;drop", "may hold only letters, digits and _"),
        ("ADW_REPLICATION_WORKERS", "two", "is not a whole number"),
        ("ADW_REPLICATION_WORKERS", "0", "is below the minimum 1"),
        ("ADW_BQ_PROJECT", "x`; drop table y; --", "is not a Google Cloud project id"),
        ("ADW_SOURCE_DSN", "host=h password=S3cret x;drop", "is not a PostgreSQL connection"),
    ],
)
def test_adw_replicate_refuses_a_bad_setting_before_any_work(name, value, said, tmp_path):
    """The review's cases (a 69-line traceback, a silent default) through `adw replicate`."""
    result = _adw(tmp_path, {name: value}, "replicate")
    assert result.returncode == 1
    line = _one_line(result.stderr)
    assert line.startswith(f"error: {name}") and said in line
    assert "S3cret" not in result.stderr
    assert not (tmp_path / "home" / "warehouse.duckdb").exists()


def _adw(tmp_path: Path, settings: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """``adw args`` with only ``settings`` as ADW_* variables (ADW_HOME under tmp_path unless
    given), run in tmp_path; values that are not UTF-8 are passed as the bytes they stand for."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ADW_")}
    runtime = tmp_path / "xdg"  # so that platformdirs does not warn (issue 15)
    runtime.mkdir(mode=0o700, exist_ok=True)
    env |= {"XDG_RUNTIME_DIR": str(runtime), "ADW_HOME": str(tmp_path / "home")} | settings
    work = tmp_path / "work"
    work.mkdir(exist_ok=True)
    result = subprocess.run(
        [str(ADW), *args],
        env={os.fsencode(k): os.fsencode(v) for k, v in env.items()},
        cwd=work,
        capture_output=True,
        timeout=300,
    )
    return subprocess.CompletedProcess(
        result.args, result.returncode, _text(result.stdout), _text(result.stderr)
    )


def _text(data: bytes) -> str:
    return data.decode("utf-8", "backslashreplace")


def _one_line(stderr: str) -> str:
    lines = [line for line in stderr.splitlines() if line.strip()]
    assert "Traceback" not in stderr
    assert len(lines) == 1, stderr[:3000]
    assert len(lines[0]) <= 20_000  # every variable's message, each short
    return lines[0]
