"""Errors a user can hit. Each message says what was wrong and what to do."""

from __future__ import annotations


class AdwError(Exception):
    """Base class: the CLI prints the message (no traceback) and exits 1."""


class ConfigError(AdwError):
    """An ``ADW_*`` variable or argument is invalid."""


class SourceError(AdwError):
    """The source database is missing, unreachable, or not in the expected state."""


class LoadError(AdwError):
    """Input data (a CSV file, an event) is malformed."""
