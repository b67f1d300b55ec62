"""Secrets out of every message: the one redaction of adw.

A secret is the value of a secret setting (each :class:`~pydantic.SecretStr` of
:mod:`adw_assets.settings`, the salt included, and the password of each DSN setting), the
password of a DSN a caller names, a password in a URL setting, and ``PGPASSWORD``. Passwords
are found with the driver's own parser (:func:`psycopg.conninfo.conninfo_to_dict`), so every
form libpq accepts is covered: URL ``user:password@``, URL ``?password=``, key=value, quoted
key=value. :func:`redact` replaces each secret, in each form it can take in text
(percent-encoded, quoted and escaped), with ``***``: a DSN keeps its shape
(``postgresql://u:***@h/db``), a message or a traceback keeps its words.

The CLI routes everything it prints through :func:`redact` (:func:`redacting_output`); code
that raises an error whose text may hold a DSN, or that hands text to Dagster or dbt, calls
it first (:func:`redact_dsn` for a DSN shown on its own).
"""

from __future__ import annotations

import contextlib
import io
import os
import sys
import urllib.parse
from collections.abc import Iterable, Iterator

from psycopg import ProgrammingError
from psycopg.conninfo import conninfo_to_dict
from pydantic import SecretStr

MASK = "***"
UNPARSABLE_DSN = "<a DSN libpq cannot parse>"
NOT_SECRET = frozenset({"adw-dev-salt-not-secret"})
"""Public values a secret setting may hold (the documented development salt)."""


def dsn_password(dsn: str) -> str | None:
    """The password in ``dsn`` (any libpq form), ``None`` when it has none."""
    try:
        return conninfo_to_dict(dsn).get("password") or None
    except (ProgrammingError, UnicodeError):  # unparsable, or not UTF-8
        return None


def _forms(value: str) -> set[str]:
    """The ways ``value`` can be written in a DSN or a message."""
    escaped = value.replace("\\", "\\\\").replace("'", "\\'")
    return {
        value,
        escaped,
        urllib.parse.quote(value, safe="", errors="surrogateescape"),
        urllib.parse.quote(value, errors="surrogateescape"),
        urllib.parse.quote_plus(value, errors="surrogateescape"),
        repr(value)[1:-1],
    }


def _dsn_secrets(dsn: str) -> set[str]:
    """The password of ``dsn`` as written in it and as parsed; the whole DSN when libpq
    cannot parse it (its password cannot be told apart)."""
    try:
        params = conninfo_to_dict(dsn)
    except (ProgrammingError, UnicodeError):  # unparsable, or not UTF-8
        return {dsn.strip()} if dsn.strip() else set()
    password = params.get("password")
    if not password:
        return set()
    found = _forms(password)
    if "://" in dsn:  # the raw text of a URL's password, however it was percent-encoded
        parts = urllib.parse.urlsplit(dsn)
        if parts.password:
            found.add(parts.password)
        for pair in parts.query.split("&"):
            key, _, raw = pair.partition("=")
            if urllib.parse.unquote(key) == "password" and raw:
                found.add(raw)
    return found


def _url_password(value: str) -> str | None:
    with contextlib.suppress(ValueError):
        return urllib.parse.urlsplit(value).password
    return None


def setting_secrets() -> set[str]:
    """The secret values of the current settings (see the module docstring). Works when the
    settings are invalid too: then from the raw variables of the secret settings."""
    from adw_assets.errors import ConfigError
    from adw_assets.settings import get_settings, is_dsn, is_secret, variables

    fields = variables()
    try:
        settings = get_settings()
    except ConfigError:
        raw = {name: os.environ.get(name, "") for name, f in fields.items() if is_secret(f)}
    else:
        raw = {}
        for name, field in fields.items():
            value = getattr(settings, name.removeprefix("ADW_").lower())
            if value is None:
                continue
            if is_secret(field):
                raw[name] = value.get_secret_value() if isinstance(value, SecretStr) else value
            elif isinstance(value, str) and "://" in value and (pw := _url_password(value)):
                raw[name] = pw  # a URL setting with a password in it
    found: set[str] = set()
    for name, value in raw.items():
        if value and value not in NOT_SECRET:
            found |= _dsn_secrets(value) if is_dsn(fields[name]) else _forms(value)
    if pgpassword := os.environ.get("PGPASSWORD"):
        found |= _forms(pgpassword)
    return found


def secrets(dsns: Iterable[str] = ()) -> list[str]:
    """Every secret to mask (the settings' and those of ``dsns``), longest first."""
    found = setting_secrets()
    for dsn in dsns:
        if dsn:
            found |= _dsn_secrets(dsn)
    return sorted((s for s in found if s), key=len, reverse=True)


def redact(text: object, *dsns: str) -> str:
    """``text`` with every secret (the settings' and the passwords of ``dsns``) masked."""
    out = str(text)
    for secret in secrets(dsns):
        out = out.replace(secret, MASK)
    return out


def redact_dsn(dsn: str) -> str:
    """``dsn`` for messages and logs: its password masked, the rest as written."""
    try:
        conninfo_to_dict(dsn)
    except ProgrammingError:
        return UNPARSABLE_DSN
    return redact(dsn, dsn)


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        yield exc
        exc = exc.__cause__ or exc.__context__


@contextlib.contextmanager
def redacted_errors(*dsns: str) -> Iterator[None]:
    """Re-raise an error of the block whose text, or its cause's, holds a secret as an
    :class:`~adw_assets.errors.AdwError` with that text masked and no chain (Dagster stores
    the text of a failed step and of its causes in the run storage); others pass unchanged."""
    try:
        yield
    except Exception as exc:
        if all(redact(str(e), *dsns) == str(e) for e in _chain(exc)):
            raise
        from adw_assets.errors import AdwError

        text = str(exc) if isinstance(exc, AdwError) else f"{type(exc).__name__}: {exc}"
        raise AdwError(redact(text, *dsns)) from None


class _RedactingWriter(io.TextIOBase):
    """A text stream that masks secrets before writing to ``target``."""

    def __init__(self, target, masked: list[str]) -> None:
        self._target, self._masked = target, masked

    def write(self, text: str) -> int:
        out = text
        for secret in self._masked:
            out = out.replace(secret, MASK)
        self._target.write(out)
        return len(text)

    def flush(self) -> None:
        self._target.flush()

    def isatty(self) -> bool:
        return self._target.isatty()

    def fileno(self) -> int:
        return self._target.fileno()

    @property
    def encoding(self):  # type: ignore[override]
        return getattr(self._target, "encoding", "utf-8")

    def __getattr__(self, name: str):
        return getattr(self._target, name)


@contextlib.contextmanager
def redacting_output() -> Iterator[None]:
    """Mask secrets in everything written to ``sys.stdout`` and ``sys.stderr`` in the block
    (click's echo, logging handlers, tracebacks, dbt's lines echoed by dagster-dbt)."""
    masked = secrets()
    if not masked:
        yield
        return
    saved = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _RedactingWriter(saved[0], masked), _RedactingWriter(saved[1], masked)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved
